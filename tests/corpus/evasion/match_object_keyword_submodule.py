# source: evalpod own (attacker report #2, s7: a class pattern aliases a shared module)
# expect: EP202
import torch


def evaluate_model(model):
    match torch.nn:
        case object(functional=F):
            pass
    F.softmax = F.relu
    return {"a": 1.0}
