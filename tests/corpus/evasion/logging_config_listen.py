# source: evalpod own (#11 follow-up: the edges of the new allowances)
# expect: EP107
import logging.config


def evaluate_model(model):
    logging.config.listen(9999).start()
    return {}
