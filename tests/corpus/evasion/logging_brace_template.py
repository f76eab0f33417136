# source: evalpod own (#11 follow-up: the edges of the new allowances)
# expect: EP202
import logging


def evaluate_model(model):
    field = "msg." + "_" * 2 + "init" + "_" * 2
    logging.basicConfig(format="{" + field + "}", style="{")
    logging.getLogger("x").warning(model)
    return {}
