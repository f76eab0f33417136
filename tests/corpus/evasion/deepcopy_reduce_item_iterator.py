# source: evalpod security review (Nov 2026 follow-up): copy.deepcopy as a deep trampoline for the reduce protocol (list items copy appends to whatever the callable made)
# expect: EP301
import copy


class Holder(list):
    pass


class Payload:
    def __init__(self, items):
        self.items = items

    def __reduce__(self):
        return (Holder, (), None, iter(self.items))


def evaluate_model(model):
    return {"x": str(copy.deepcopy(Payload([1, 2])))}
