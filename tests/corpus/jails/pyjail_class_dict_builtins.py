# source: pyjail write-ups (builtins through a function's __builtins__ dict)
# expect: EP301
def evaluate_model(model):
    b = evaluate_model.__builtins__
    return {"n": len(b)}
