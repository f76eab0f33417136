# source: evalpod own (attack2 F1: `type` handed to map, so no call site shows the object)
# expect: EP208
def evaluate_model(model):
    classes = list(map(type, [model.tokenizer]))
    return {"n": len(classes)}
