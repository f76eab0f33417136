# source: evalpod attacker (static-validator follow-up 3, Nov 2026): the root logger stored into an item by tuple unpacking
# expect: EP109
import logging


def evaluate_model(model):
    d = {}
    d["x"], y = logging.getLogger(), 1
    d["x"].manager.disable = 99
    return {"a": 1.0}
