# source: evalpod own (attacker report #2 variant: a dunder deleted from a class)
# expect: EP301
class Box:
    def __init__(self):
        self.x = 1


def evaluate_model(model):
    del Box.__init__
    delattr(Box, "__repr__")
    return {"a": float(Box().x)}
