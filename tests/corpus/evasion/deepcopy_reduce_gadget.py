# source: evalpod security review (Nov 2026 follow-up): copy.deepcopy as a deep trampoline for the reduce protocol (a callable the analysis cannot see is returned by __reduce_ex__; copy calls it four frames from the script)
# expect: EP301
import copy


class Payload:
    def __init__(self, target):
        self.target = target

    def __reduce_ex__(self, protocol):
        return (self.target, ("6 * 7",))


def evaluate_model(model):
    copied = copy.deepcopy([[[Payload(model.generate)]]])
    return {"x": str(copied)}
