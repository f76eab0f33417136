# source: evalpod own (corpus before #11)
# expect: EP201
x = eval


def evaluate_model(model):
    y = x
    return {"v": y("__import__('os').getcwd()")}
