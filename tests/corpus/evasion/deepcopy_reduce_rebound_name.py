# source: evalpod security review (Nov 2026 follow-up): copy.deepcopy as a deep trampoline for the reduce protocol (a script-defined name rebound to a library callable)
# expect: EP301
import copy


def build(x):
    return x


def evaluate_model(model):
    global build
    build = model.generate

    class Payload:
        def __reduce__(self):
            return (build, ("6 * 7",))

    return {"x": str(copy.deepcopy([[[Payload()]]]))}
