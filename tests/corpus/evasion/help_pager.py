# source: evalpod own (corpus before #11)
# expect: EP205
def evaluate_model(model):
    help("modules")
    return {}
