# source: evalpod own (#11 follow-up: the edges of the new allowances)
# expect: EP106
import sys


def walk(module):
    return module.modules


def evaluate_model(model):
    return {"x": str(walk(sys))}
