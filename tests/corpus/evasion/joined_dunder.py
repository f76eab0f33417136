# source: evalpod own (corpus before #11)
# expect: EP302
def evaluate_model(model):
    name = "".join(["__", "glo", "bals__"])
    return {"n": name}
