"""A debugger runs arbitrary code: import of a denied module.
expect: import"""


def evaluate_model(model):
    import pdb

    return {"x": pdb is not None}
