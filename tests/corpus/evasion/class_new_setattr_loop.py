# source: evalpod own (attacker report #2 variant: the dunder name drawn from a literal
# collection)
# expect: EP301
import logging


class Box:
    pass


def evaluate_model(model):
    for name in ("__new__",):
        setattr(Box, name, staticmethod(lambda cls: logging.getLogger()))
    Box().manager.disable = 99
    return {"a": 1.0}
