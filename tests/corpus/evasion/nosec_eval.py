# source: evalpod own (corpus before #11)
# expect: EP201
def evaluate_model(model):
    value = eval("2 ** 10")  # nosec
    return {"v": value}
