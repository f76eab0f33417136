# source: pyjail write-ups (a lambda's __globals__ is the module namespace)
# expect: EP301
def evaluate_model(model):
    g = (lambda: 0).__globals__
    return {"n": len(g)}
