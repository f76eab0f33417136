# source: evalpod security review (Nov 2026 follow-up): copy.deepcopy as a deep trampoline for the reduce protocol (the state copy applies is keyed by a computed name)
# expect: EP202
import copy


class Target:
    pass


class Payload:
    def __init__(self, key):
        self.key = key

    def __reduce__(self):
        return (Target, (), (None, {self.key: Payload}))


def evaluate_model(model):
    key = "".join(chr(c) for c in (95, 95, 99, 108, 97, 115, 115, 95, 95))
    return {"x": str(copy.deepcopy(Payload(key)))}
