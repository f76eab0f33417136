# source: evalpod own (attacker report #2 variant: a builtin class with a keyword reads
# the subject's attribute, whatever the subject is)
# expect: EP202
import torch


def evaluate_model(model):
    match torch.cuda:
        case dict(os=o):
            pass
    return {"a": float(o is None)}
