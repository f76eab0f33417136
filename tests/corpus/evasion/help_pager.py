# expect: EP205
def evaluate_model(model):
    help("modules")
    return {}
