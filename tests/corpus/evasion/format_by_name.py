# source: evalpod own (the format method fetched by a literal name)
# expect: EP202
def evaluate_model(model):
    template = "{0." + str(model.device)[:0] + "device}"
    fmt = getattr(template, "format")
    return {"device": fmt(model)}
