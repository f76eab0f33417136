# source: pyjail write-ups (vars() of a type exposes its dict)
# expect: EP203
def evaluate_model(model):
    return {"keys": sorted(vars(type(model)))}
