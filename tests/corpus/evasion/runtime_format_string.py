# source: evalpod own (corpus before #11)
# expect: EP202
def evaluate_model(model):
    field = "".join(chr(c + 1) for c in (94, 94, 102, 107, 110, 97, 96, 107, 114, 94, 94))
    template = "{0." + field + "}"
    return {"leak": template.format(evaluate_model)}
