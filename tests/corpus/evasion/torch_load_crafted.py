# source: evalpod own (corpus before #11)
# expect: EP501
import torch


def evaluate_model(model):
    state = torch.load("/tmp/crafted.pt")
    return {"keys": len(state)}
