# source: evalpod own (attacker report #2 variant: the script's class inherits a library
# class, so its instances carry the library's class attributes)
# expect: EP202
import logging


class Named(logging.Logger):
    pass


def evaluate_model(model):
    match Named("x"):
        case Named(manager=m):
            pass
    m.disable = 99
    return {"a": 1.0}
