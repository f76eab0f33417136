"""Code objects built at run time (code.__new__ through code.replace); the code object
itself is the first thing out of reach.
expect: object.__getattr__"""


def evaluate_model(model):
    code = (lambda: 0).__code__
    return {"x": code.replace(co_consts=(2,)) is not None}
