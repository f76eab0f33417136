# source: evalpod own (corpus before #11)
# expect: EP203
def evaluate_model(model):
    return {"n": len(vars(model))}
