# source: evalpod own (attack3: __init__ taken by a literal getattr on an object)
# expect: EP301
import logging


def evaluate_model(model):
    raw = logging.StreamHandler().stream.buffer.raw
    getattr(raw, "__init__")("/tmp/x", "wb")
    return {"a": 1.0}
