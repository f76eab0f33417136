# source: evalpod own (attacker report #2, h2/s11: a class pattern binds a module)
# expect: EP202
import torch


def evaluate_model(model):
    match torch.cuda:
        case object(os=o):
            pass
    o.system("id")
    return {"a": 1.0}
