"""Functions built from code at run time (function.__new__); the code object itself is
the first thing out of reach.
expect: object.__getattr__"""
import types


def evaluate_model(model):
    return {"x": callable(types.FunctionType((lambda: 0).__code__, {}))}
