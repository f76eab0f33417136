# source: zopefoundation AccessControl safe_formatter tests (format fields walking __globals__)
# expect: EP302
def evaluate_model(model):
    return {"out": "{0.__init__.__globals__}".format(model)}
