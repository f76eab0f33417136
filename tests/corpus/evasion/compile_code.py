# source: evalpod own (corpus before #11)
# expect: EP201
def evaluate_model(model):
    code = compile("1 + 1", "<x>", "eval")
    return {"c": str(code)}
