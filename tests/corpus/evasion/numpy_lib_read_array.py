# source: evalpod own (numpy.lib.format reads arrays, pickles included, from files)
# expect: EP107
import numpy as np


def evaluate_model(model):
    return {"a": str(np.lib.format.open_memmap)}
