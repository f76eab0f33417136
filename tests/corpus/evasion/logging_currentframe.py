# source: evalpod own (#11 follow-up: the edges of the new allowances)
# expect: EP107
import logging


def evaluate_model(model):
    frame = logging.currentframe()
    return {"x": str(frame)}
