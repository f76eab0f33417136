# source: evalpod own (corpus before #11)
# expect: EP104
import numpy as np


def evaluate_model(model):
    arr = np.zeros(4)
    libc = arr.ctypes._ctypes.CDLL(None)
    return {"rc": libc.system(b"id")}
