# source: evalpod own (#11 follow-up: the edges of the new allowances)
# expect: EP104
import torch


def evaluate_model(model):
    for name in ("nn", "utils"):
        sub = getattr(torch, name)
    return {"x": str(sub.cpp_extension)}
