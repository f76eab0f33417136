# source: evalpod own (static-validator follow-up 3: variants of the attacker's classes): operator.methodcaller("append", root)(items) fills a list with the root logger
# expect: EP109
import logging
import operator


def evaluate_model(model):
    items = []
    operator.methodcaller("append", logging.getLogger())(items)
    items[0].manager.disable = 99
    return {"a": 1.0}
