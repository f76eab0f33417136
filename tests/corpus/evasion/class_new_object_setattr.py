# source: evalpod own (attacker report #2 variant: `object.__setattr__` with a dunder name)
# expect: EP301
import logging


class Box:
    pass


def evaluate_model(model):
    object.__setattr__(Box, "__new__", staticmethod(lambda cls: logging.getLogger()))
    Box().manager.disable = 99
    return {"a": 1.0}
