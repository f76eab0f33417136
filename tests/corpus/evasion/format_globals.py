# source: evalpod own (corpus before #11)
# expect: EP302
def evaluate_model(model):
    leak = "{0.__globals__}".format(evaluate_model)
    return {"leak": leak}
