# source: evalpod own (corpus before #11)
# expect: EP204
def evaluate_model(model):
    gen = (i for i in range(3))
    outer = gen.gi_frame.f_back
    return {"n": len(outer.f_builtins)}
