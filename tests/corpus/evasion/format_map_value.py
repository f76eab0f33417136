# source: evalpod own (format_map taken as a value)
# expect: EP202
def evaluate_model(model):
    render = "".format_map if False else str.format_map
    field = "{m." + "x" * int("1") + "}"
    return {"out": render(field, {"m": model})}
