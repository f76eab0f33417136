# source: evalpod own (corpus before #11)
# expect: EP103
from math import *


def evaluate_model(model):
    return {"v": floor(2.5)}
