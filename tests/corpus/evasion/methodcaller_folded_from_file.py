# source: evalpod attacker (static-validator follow-up, Nov 2026): operator.methodcaller("from_" + "file", ...) folds to a file opener
# expect: EP401
import operator
import torch


def evaluate_model(model):
    store = torch.zeros(1, dtype=torch.uint8).untyped_storage()
    raw = operator.methodcaller("from_" + "file", "/job/spec.json", False, 64)(store)
    return {"n": float(len(raw))}
