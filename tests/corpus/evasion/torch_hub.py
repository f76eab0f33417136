# source: evalpod own (corpus before #11)
# expect: EP104
import torch as t


def evaluate_model(model):
    other = t.hub.load("pytorch/vision", "resnet18")
    return {"n": len(list(other.parameters()))}
