# source: RestrictedPython transformer tests idea (names starting with underscore are refused)
# expect: EP301
def evaluate_model(model):
    ev = getattr(__builtins__, "ev" + "al")
    return {"x": ev("1 + 1")}
