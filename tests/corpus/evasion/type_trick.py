# source: evalpod own (corpus before #11)
# expect: EP206
def evaluate_model(model):
    Sneaky = type("Sneaky", (object,), {"run": staticmethod(print)})
    Sneaky.run("hi")
    return {}
