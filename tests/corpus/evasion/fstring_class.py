# source: evalpod own (corpus before #11)
# expect: EP301
def evaluate_model(model):
    return {"base": f"{model.__class__.__base__}"}
