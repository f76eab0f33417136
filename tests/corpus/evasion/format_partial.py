# source: evalpod own (str.format bound through functools.partial)
# expect: EP202
import functools


def evaluate_model(model):
    walk = functools.partial(str.format, "{0.device}")
    return {"out": walk(model)}
