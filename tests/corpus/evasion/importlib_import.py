# source: evalpod own (corpus before #11)
# expect: EP102
import importlib


def evaluate_model(model):
    os_module = importlib.import_module("os")
    return {"uid": os_module.getuid()}
