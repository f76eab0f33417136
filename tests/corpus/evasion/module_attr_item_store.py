# source: evalpod own (attack2 F3: the same, as a slice store into a module's object)
# expect: EP109
import logging


def evaluate_model(model):
    logging.root.handlers[:] = []
    return {}
