# source: evalpod own (attack2 F3: deleting a shared module's function)
# expect: EP109
import re


def evaluate_model(model):
    del re.compile
    return {}
