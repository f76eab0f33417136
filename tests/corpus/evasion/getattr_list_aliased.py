# source: evalpod own (#11 follow-up: the edges of the new allowances)
# expect: EP202
NAMES = {"accuracy"}


def evaluate_model(model):
    alias = NAMES
    alias |= {"_" * len("ab") + "class" + "_" * len("ab")}
    return {n: str(getattr(model, n, None)) for n in NAMES}
