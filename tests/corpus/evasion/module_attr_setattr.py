# source: evalpod own (attack2 F3: rebinding by setattr with a literal name)
# expect: EP109
import logging


def evaluate_model(model):
    setattr(logging.root, "handlers", [])
    return {}
