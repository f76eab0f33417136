# source: evalpod own (corpus before #11)
# expect: EP301
def evaluate_model(model):
    loader = __loader__
    return {"src": loader.get_source("os")}
