# source: evalpod own (#11 follow-up: the edges of the new allowances)
# expect: EP104
from sys import modules, stderr


def evaluate_model(model):
    print("loaded", file=stderr)
    return {"x": str(modules["os"])}
