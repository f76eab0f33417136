# source: evalpod own (corpus before #11)
# expect: EP201
def evaluate_model(model):
    ｅｘｅｃ("import os")
    return {}
