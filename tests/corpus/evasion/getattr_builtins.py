# source: evalpod own (corpus before #11)
# expect: EP301
def evaluate_model(model):
    runner = getattr(__builtins__, "ex" + "ec")
    runner("import os; os.system('id')")
    return {}
