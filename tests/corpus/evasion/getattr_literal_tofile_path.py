# source: evalpod attacker (static-validator follow-up, Nov 2026): getattr(arr, "tofile") with a path
# expect: EP401
import numpy as np


def evaluate_model(model):
    arr = np.zeros(4)
    getattr(arr, "tofile")("/work/../job/spec.json")
    return {"n": 1.0}
