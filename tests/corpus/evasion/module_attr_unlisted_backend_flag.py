# source: evalpod own (attack2 F3: an allowed backend flag beside a rebound torch function)
# expect: EP109
import torch


def evaluate_model(model):
    torch.backends.cudnn.deterministic = True
    torch.manual_seed = bool
    return {}
