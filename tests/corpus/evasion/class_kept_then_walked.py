# source: evalpod own (#11 follow-up: the edges of the new allowances)
# expect: EP301
def evaluate_model(model):
    cls = ().__class__
    name = ().__class__.__name__
    return {"name": name, "bases": str(cls.__name__)}
