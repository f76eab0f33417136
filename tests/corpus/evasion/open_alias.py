# source: evalpod own (corpus before #11)
# expect: EP401
reader = open


def evaluate_model(model):
    with reader("/etc/passwd") as handle:
        return {"first": handle.readline()}
