# source: evalpod own (attack2 F3: a module's shared object changed in place by its own method)
# expect: EP109
import logging


def evaluate_model(model):
    handlers = logging.root.handlers
    handlers.clear()
    return {}
