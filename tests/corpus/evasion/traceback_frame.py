# source: evalpod own (corpus before #11)
# expect: EP204
def evaluate_model(model):
    try:
        raise ValueError("x")
    except ValueError as e:
        frame = e.__traceback__.tb_frame.f_back
        return {"g": len(frame.f_globals)}
