# source: evalpod attacker (static-validator follow-up 3, Nov 2026): the root logger stored as a dict item
# expect: EP109
import logging


def evaluate_model(model):
    d = {}
    d["x"] = logging.getLogger()
    d["x"].manager.disable = 99
    return {"a": 1.0}
