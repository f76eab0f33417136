# source: evalpod security review (static-validator bypasses, Nov 2026): **{built_dunder: C} into a keyword-driven setattr swaps __class__
# expect: EP202
class Cfg:
    def __init__(self, **kwargs):
        for key, value in kwargs.items():
            setattr(self, key, value)


class Other:
    pass


def evaluate_model(model):
    key = "".join(chr(c) for c in (95, 95, 99, 108, 97, 115, 115, 95, 95))
    obj = Cfg()
    Cfg.__init__(obj, **{key: Other})
    return {"name": obj.__class__.__name__}
