# source: evalpod own (attacker report #2 variant: `functools.update_wrapper` copies a
# `__new__` onto a script class)
# expect: EP202
import functools
import logging


class Source:
    pass


class Box:
    pass


def evaluate_model(model):
    functools.update_wrapper(Box, Source, assigned=("__new__",), updated=())
    return {"a": float(isinstance(Box(), logging.Logger))}
