"""copy.deepcopy as a deep trampoline for an audited attribute read: `__reduce_ex__`
returns `(getattr, (traceback, "tb_frame"))` (the memo keeps the traceback uncopied).
expect: object.__getattr__"""
import copy


class Payload:
    def __init__(self, tb):
        self.tb = tb

    def __reduce_ex__(self, protocol):
        return (getattr, (self.tb, "tb_frame"))


def evaluate_model(model):
    try:
        raise ValueError("a traceback")
    except ValueError as exc:
        tb = exc.__traceback__
    try:
        frame = copy.deepcopy([[[[Payload(tb)]]]], {id(tb): tb})[0][0][0][0]
        names = len(frame.f_back.f_globals)
    except PermissionError:
        names = None
    return {"names": names}
