"""Bytecode from bytes: marshal.loads.
expect: marshal.loads"""
import marshal


def evaluate_model(model):
    return {"x": marshal.loads(marshal.dumps(1))}
