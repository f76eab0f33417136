# source: evalpod own (#11 follow-up: the edges of the new allowances)
# expect: EP202
import logging


def evaluate_model(model, template="{msg}"):
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(template, None, "{"))
    return {}
