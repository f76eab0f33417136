# source: issue #11 (frame walking as patterns)
# expect: EP204
def evaluate_model(model):
    try:
        1 / 0
    except ZeroDivisionError as e:
        match e:
            case object(__traceback__=object(tb_frame=object(f_back=object(f_globals=g)))):
                return {"n": len(g)}
    return {}
