# source: evalpod own (a failed lookup on a module hands the module out via AttributeError.obj)
# expect: EP107
import torch


def evaluate_model(model):
    try:
        torch.no_such_function_anywhere
    except AttributeError as e:
        mod = e.obj
        return {"m": str(mod)}
    return {}
