# source: evalpod attacker (static-validator follow-up, Nov 2026): getattr(np.lib.format, "open_memmap") maps a file
# expect: EP401
import numpy as np


def evaluate_model(model):
    raw = np.zeros(4)
    data = getattr(np.lib.format, "open_memmap")("/job/spec.json", mode="r")
    return {"n": float(data.size)}
