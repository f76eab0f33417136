# source: evalpod own (validator follow-up: logging objects a call hands out, changed past EP109)
# expect: EP109
import logging


def evaluate_model(model):
    logging.root.manager.disable = 99
    return {"accuracy": 1.0}
