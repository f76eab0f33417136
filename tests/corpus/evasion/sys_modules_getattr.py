# source: evalpod own (#11 follow-up: the edges of the new allowances)
# expect: EP104
import sys


def evaluate_model(model):
    modules = getattr(sys, "modules")
    return {"x": str(modules["os"])}
