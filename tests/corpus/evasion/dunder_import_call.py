# source: evalpod own (corpus before #11)
# expect: EP201
def evaluate_model(model):
    os_module = __import__("o" + "s")
    return {"cwd": os_module.getcwd()}
