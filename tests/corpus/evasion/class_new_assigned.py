# source: evalpod own (attacker report #2, r6: `__new__` assigned after the class statement
# makes `Box()` a stream handler the analysis still takes for a plain instance)
# expect: EP301
import logging


class Box:
    pass


def evaluate_model(model):
    Box.__new__ = staticmethod(lambda cls: logging.StreamHandler())
    s = Box().stream
    return {"fd": float(s.fileno())}
