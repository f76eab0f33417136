# source: evalpod own (corpus before #11)
# expect: EP201
class Runner:
    go = exec


def evaluate_model(model):
    Runner.go("import os")
    return {}
