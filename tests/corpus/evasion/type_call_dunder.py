# source: evalpod own (attack2 F1: the class of a library object reached through `.__call__`)
# expect: EP208
def evaluate_model(model):
    make = type(model.tokenizer).__call__
    return {"n": len(make(model.tokenizer, "x"))}
