# source: issue #11 (widening what torch.load may unpickle)
# expect: EP107
import torch


def evaluate_model(model):
    torch.serialization.add_safe_globals([print])
    return {}
