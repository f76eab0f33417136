# source: pysandbox (V. Stinner) test ideas: replacing a function's code object
# expect: EP301
def helper():
    return 1


def evaluate_model(model):
    code = helper.__code__
    helper.__code__ = code.replace(co_consts=(None, 2))
    return {"v": helper()}
