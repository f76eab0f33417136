"""Frame access through a generator's gi_frame.
expect: object.__getattr__"""


def evaluate_model(model):
    def gen():
        yield 1

    g = gen()
    return {"n": len(g.gi_frame.f_back.f_globals)}
