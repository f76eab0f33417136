# source: evalpod own (corpus before #11)
# expect: EP202
def fetch(obj, name, getter=getattr):
    return getter(obj, name)


def evaluate_model(model):
    return {"v": str(fetch(model, "device"))}
