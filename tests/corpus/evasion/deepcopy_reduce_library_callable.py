# source: evalpod security review (Nov 2026 follow-up): copy.deepcopy as a deep trampoline for the reduce protocol (a library callable the script does not define)
# expect: EP301
import copy
import functools


class Payload:
    def __reduce__(self):
        return (functools.partial, (print, "copied"))


def evaluate_model(model):
    return {"x": str(copy.deepcopy([[[Payload()]]]))}
