# source: issue #11 (format method taken as a value, attribute recovered via AttributeError.obj)
# expect: EP202
def evaluate_model(model):
    fmt = str.format
    name = model.tokenizer.decode([95, 95]) + "init" + model.tokenizer.decode([95, 95])
    try:
        fmt("{0." + name + ".nothing}", model)
    except AttributeError as e:
        return {"leak": str(e.obj)}
    return {}
