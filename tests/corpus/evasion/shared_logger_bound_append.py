# source: evalpod own (static-validator follow-up 3: variants of the attacker's classes): a list's append taken as a value fills it with the root logger
# expect: EP109
import logging


def evaluate_model(model):
    items = []
    add = items.append
    add(logging.getLogger())
    items[0].manager.disable = 99
    return {"a": 1.0}
