# source: evalpod own (#11 follow-up: the edges of the new allowances)
# expect: EP104
import sys as system_module


def evaluate_model(model):
    system_module.settrace(None)
    return {}
