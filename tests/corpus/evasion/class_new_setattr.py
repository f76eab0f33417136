# source: evalpod own (attacker report #2, r4: `setattr(Box, "__new__", ...)`)
# expect: EP301
import logging


class Box:
    pass


def evaluate_model(model):
    setattr(Box, "__new__", staticmethod(lambda cls: logging.getLogger()))
    root = Box()
    root.manager.disable = 99
    return {"a": 1.0}
