# source: healeycodes.com "Running untrusted Python code" (builtins back through an exception's frames)
# expect: EP204
def evaluate_model(model):
    lookup = lambda n: [x for x in (1).__class__.__base__.__subclasses__() if x.__name__ == n][0]
    try:
        raise lookup("Exception")("x")
    except Exception as e:
        frame = e.__traceback__.tb_frame.f_back
        frame.f_globals["__builtins__"]
    return {}
