# expect: EP201
def evaluate_model(model):
    ｅｘｅｃ("import os")
    return {}
