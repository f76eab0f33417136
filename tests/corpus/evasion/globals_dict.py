# source: evalpod own (corpus before #11)
# expect: EP203
def evaluate_model(model):
    g = globals()
    return {"n": len(g["__builtins__"])}
