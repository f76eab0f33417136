# source: evalpod security review (Nov 2026 follow-up): copy.deepcopy as a deep trampoline for the reduce protocol (__getstate__ returns (state, slot_state): copy does setattr per slot-state key)
# expect: EP202
import copy


class Other:
    pass


class Payload:
    def __init__(self, key):
        self.key = key

    def __getstate__(self):
        return (None, {self.key: Other})


def evaluate_model(model):
    key = "".join(chr(c) for c in (95, 95, 99, 108, 97, 115, 115, 95, 95))
    return {"x": type(copy.deepcopy(Payload(key))).__name__}
