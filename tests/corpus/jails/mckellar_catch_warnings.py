# source: J. McKellar, "Building and breaking a Python sandbox" (PyCon 2014): subclasses walk to warnings.catch_warnings
# expect: EP301
def evaluate_model(model):
    for cls in ().__class__.__base__.__subclasses__():
        if cls.__name__ == "catch_warnings":
            builtins = cls()._module.__builtins__
            builtins["__import__"]("os").system("id")
    return {}
