# source: PyCQA/bandit examples/pytorch_load.py (B614)
# expect: EP501
import torch


def evaluate_model(model):
    return {"x": str(torch.load("weights.pt"))}
