# source: evalpod own (attacker report #2 variant: the pattern's class name is rebound to
# a builtin class after the class statement)
# expect: EP202
import torch


class Record:
    pass


Record = object


def evaluate_model(model):
    match torch.cuda:
        case Record(os=o):
            pass
    o.system("id")
    return {"a": 1.0}
