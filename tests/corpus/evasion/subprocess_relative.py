# source: evalpod own (corpus before #11)
# expect: EP102
import subprocess as sp


def evaluate_model(model):
    return {"out": sp.check_output(["id"]).decode()}
