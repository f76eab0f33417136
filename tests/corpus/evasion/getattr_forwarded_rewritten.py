# source: evalpod own (#11 follow-up: the edges of the new allowances)
# expect: EP202
class Wrapper:
    def __init__(self, inner):
        self.inner = inner

    def __getattr__(self, name):
        name = "_" * 2 + name + "_" * 2
        return getattr(self.inner, name)


def evaluate_model(model):
    return {"x": str(Wrapper(model.generate).globals)}
