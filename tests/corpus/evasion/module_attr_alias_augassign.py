# source: evalpod own (attack2 F3: module aliases and augmented assignment)
# expect: EP109
import numpy as np
import torch
from torch.nn import functional as F


def evaluate_model(model):
    np.random.seed = print
    torch.nn.functional.softmax = F.log_softmax
    F.relu += 0
    return {}
