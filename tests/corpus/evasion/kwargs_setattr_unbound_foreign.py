# source: evalpod security review (static-validator bypasses, Nov 2026): Settings.__init__(other, **{built: C}) on a foreign object
# expect: EP202
class Settings:
    def __init__(self, **kwargs):
        for key, value in kwargs.items():
            setattr(self, key, value)


class Box:
    pass


def evaluate_model(model):
    b = Box()
    name = "".join(chr(c) for c in (95, 95, 99, 108, 97, 115, 115, 95, 95))
    Settings.__init__(b, **{name: Settings})
    return {"cls": type(b).__name__}
