# source: evalpod own (corpus before #11)
# expect: EP202
def evaluate_model(model):
    name = chr(95) * 2 + "class" + chr(95) * 2
    return {"c": str(getattr(model, name))}
