# source: evalpod own (#11 follow-up: the edges of the new allowances)
# expect: EP202
def evaluate_model(model, name="device"):
    for name in ("device", "tokenizer"):
        pass
    return {"x": str(getattr(model, name))}
