# source: evalpod own (static-validator follow-up 3: variants of the attacker's classes): functools.update_wrapper copies a StreamHandler's stream onto a script object
# expect: EP104
import functools
import logging
import sys


class Box:
    pass


def evaluate_model(model):
    box = Box()
    functools.update_wrapper(box, logging.StreamHandler(sys.stderr))
    raw = box.stream.buffer.raw
    return {"a": float(raw.fileno())}
