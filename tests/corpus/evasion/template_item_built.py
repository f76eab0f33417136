# source: evalpod own (a template container whose item is built at run time)
# expect: EP202
TEMPLATES = {"qa": "Q: {q}"}


def evaluate_model(model):
    TEMPLATES["leak"] = "{q." + model.tokenizer.decode([120]) + "}"
    return {k: TEMPLATES[k].format(q=model) for k in TEMPLATES}
