# source: evalpod own (#11 follow-up: the edges of the new allowances)
# expect: EP202
def evaluate_model(model):
    out = {}
    for name in ("device", "__class__"):
        out[name] = str(getattr(model, name))
    return out
