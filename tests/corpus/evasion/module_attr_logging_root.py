# source: evalpod own (attack2 F3: the harness's log handlers dropped through an allowed module)
# expect: EP109
import logging


def evaluate_model(model):
    logging.root.handlers = []
    return {}
