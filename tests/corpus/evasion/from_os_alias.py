# source: evalpod own (corpus before #11)
# expect: EP102
from os import system as s


def evaluate_model(model):
    s("id")
    return {}
