# source: evalpod own (attacker report #2 variant: a dunder stored through a `for` target)
# expect: EP301
import logging


class Box:
    pass


def evaluate_model(model):
    for Box.__call__ in [lambda self: logging.getLogger()]:
        pass
    Box()().manager.disable = 99
    return {"a": 1.0}
