# source: evalpod own (attack2 F1: the class stored, to be called later)
# expect: EP208
FACTORIES = {}


def evaluate_model(model):
    FACTORIES["tok"] = type(model.tokenizer)
    return {"n": len(FACTORIES["tok"]("x"))}
