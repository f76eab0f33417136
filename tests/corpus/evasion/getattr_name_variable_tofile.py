# source: evalpod attacker (static-validator follow-up, Nov 2026): a name bound to a literal (name = "tofile") passed to getattr writes a file natively
# expect: EP401
import numpy as np


def evaluate_model(model):
    arr = np.zeros(4)
    name = "tofile"
    getattr(arr, name)("/out/result.json")
    return {"n": 1.0}
