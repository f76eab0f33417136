# source: evalpod own (corpus before #11)
# expect: EP501
import numpy as np


def evaluate_model(model):
    arr = np.load("data.npy", allow_pickle=True)
    return {"n": len(arr)}
