# source: evalpod security review (Nov 2026 follow-up): copy.deepcopy as a deep trampoline for the reduce protocol (the attacker review's example: (eval, (...,)) from __reduce_ex__)
# expect: EP301
import copy


class Payload:
    def __reduce_ex__(self, protocol):
        return (eval, ("6 * 7",))


def evaluate_model(model):
    return {"x": str(copy.deepcopy([[[[Payload()]]]]))}
