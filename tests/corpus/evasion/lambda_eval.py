# source: evalpod own (corpus before #11)
# expect: EP201
run = lambda text: eval(text)


def evaluate_model(model):
    return {"v": run("1 + 1")}
