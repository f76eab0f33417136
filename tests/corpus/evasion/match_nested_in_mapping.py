# source: evalpod own (attacker report #2 variant: the class pattern nested in a mapping)
# expect: EP202
import torch


def evaluate_model(model):
    match {"m": torch.cuda}:
        case {"m": object(os=o)}:
            pass
    o.system("id")
    return {"a": 1.0}
