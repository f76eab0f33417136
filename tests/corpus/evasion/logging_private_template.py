# source: evalpod own (#11 follow-up: the edges of the new allowances)
# expect: EP202
import logging


def evaluate_model(model, field="generate"):
    formatter = logging.Formatter("{message}", style="{")
    formatter._style._fmt = "{msg." + field + "}"
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    logging.getLogger("x").addHandler(handler)
    logging.getLogger("x").warning(model)
    return {}
