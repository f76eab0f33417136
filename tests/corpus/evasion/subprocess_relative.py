# expect: EP102
import subprocess as sp


def evaluate_model(model):
    return {"out": sp.check_output(["id"]).decode()}
