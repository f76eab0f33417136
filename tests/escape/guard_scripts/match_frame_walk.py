"""Issue #11: frame walking written as patterns (__traceback__, tb_frame, f_back, f_globals).
expect: object.__getattr__"""


def evaluate_model(model):
    try:
        raise ValueError
    except ValueError as error:
        match error:
            case object(__traceback__=object(tb_frame=object(f_back=object(f_globals=g)))):
                return {"n": len(g)}
    return {}
