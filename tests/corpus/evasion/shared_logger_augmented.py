# source: evalpod attacker (static-validator follow-up 3, Nov 2026): shared loggers merged by += and |=
# expect: EP109
import logging


def evaluate_model(model):
    items = []
    items += [logging.getLogger()]
    items[0].manager.disable = 99
    d = {}
    d |= {"x": logging.getLogger("lm_eval")}
    d["x"].disabled = True
    return {"a": 1.0}
