# source: evalpod own (#11 follow-up: the edges of the new allowances)
# expect: EP202
NAMES = ["accuracy"]


def make(n):
    return "_" * n + "class" + "_" * n


def evaluate_model(model):
    NAMES.append(make(2))
    for name in NAMES:
        cls = getattr(model, name)
    return {"x": str(cls)}
