"""copy.deepcopy as a deep trampoline: `__reduce_ex__` returns `(eval, (...,))`, which
copy's `_reconstruct` calls several `copy` frames away from the script.
expect: compile"""
import copy


class Payload:
    def __reduce_ex__(self, protocol):
        return (eval, ("6 * 7",))


def evaluate_model(model):
    try:
        value = copy.deepcopy([[[[Payload()]]]])
    except PermissionError:
        value = None
    return {"x": str(value)}
