# source: pysandbox test ideas: a generator's frame reaches its caller's globals
# expect: EP204
def gen():
    yield 1


def evaluate_model(model):
    g = gen()
    return {"n": len(g.gi_frame.f_back.f_globals)}
