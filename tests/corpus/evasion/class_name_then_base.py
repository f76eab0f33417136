# source: evalpod own (#11 follow-up: the edges of the new allowances)
# expect: EP301
def evaluate_model(model):
    base = model.__class__.__base__
    return {"name": model.__class__.__name__, "base": str(base)}
