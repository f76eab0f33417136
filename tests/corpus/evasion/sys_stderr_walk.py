# source: evalpod own (#11 follow-up: the edges of the new allowances)
# expect: EP301
import sys


def evaluate_model(model):
    return {"x": str(sys.stderr.__class__.__mro__)}
