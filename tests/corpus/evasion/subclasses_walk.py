# source: evalpod own (corpus before #11)
# expect: EP301
def evaluate_model(model):
    for cls in ().__class__.__mro__[-1].__subclasses__():
        if cls.__name__ == "Popen":
            cls(["id"])
    return {}
