# source: evalpod own (#11 follow-up: the edges of the new allowances)
# expect: EP202
NAMES = ["accuracy"]


def grow(names, n):
    names += ["_" * n + "globals" + "_" * n]


def evaluate_model(model):
    grow(NAMES, 2)
    found = {}
    for name in NAMES:
        found[name] = getattr(model.generate, name, None)
    return {"n": len(found)}
