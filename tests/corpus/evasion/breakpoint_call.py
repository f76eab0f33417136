# expect: EP205
def evaluate_model(model):
    breakpoint()
    return {}
