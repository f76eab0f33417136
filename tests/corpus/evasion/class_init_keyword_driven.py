# source: evalpod own (attacker report #2 variant: a keyword-driven setattr run on the
# class itself writes its `__new__`)
# expect: EP202
import logging


class Settings:
    def __init__(self, **kwargs):
        for key, value in kwargs.items():
            setattr(self, key, value)


class Box:
    pass


def evaluate_model(model):
    Settings.__init__(Box, __new__=staticmethod(lambda cls: logging.getLogger()))
    Box().manager.disable = 99
    return {"a": 1.0}
