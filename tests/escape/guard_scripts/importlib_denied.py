"""A denied module through a thin wrapper (importlib.import_module raises no import event;
reading the module's code is denied).
expect: open"""
import importlib


def evaluate_model(model):
    return {"x": importlib.import_module("pdb") is not None}
