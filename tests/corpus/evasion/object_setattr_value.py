# source: evalpod own (#11 follow-up: the edges of the new allowances)
# expect: EP301
def evaluate_model(model):
    put = object.__setattr__
    put(model, "_" * 2 + "class" + "_" * 2, int)
    return {}
