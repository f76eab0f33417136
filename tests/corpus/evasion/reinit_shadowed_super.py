# source: evalpod own (attack3: a script def named super hands out any object for super().__init__)
# expect: EP301
import logging


def super():
    return logging.StreamHandler().stream.buffer.raw


def evaluate_model(model):
    super().__init__("/tmp/x", "wb")
    return {"a": 1.0}
