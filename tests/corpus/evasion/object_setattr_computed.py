# source: evalpod own (#11 follow-up: the edges of the new allowances)
# expect: EP202
def evaluate_model(model, suffix="defaults"):
    object.__setattr__(model.generate, "_" * 2 + suffix + "_" * 2, (1,))
    return {}
