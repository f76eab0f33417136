"""copy.deepcopy as a deep trampoline handing out a frame: `__reduce_ex__` returns
`(sys._getframe, (0,))`; the frame's `f_back` chain would reach the harness.
expect: sys._getframe"""
import copy
import sys


class Payload:
    def __reduce_ex__(self, protocol):
        return (sys._getframe, (0,))


def evaluate_model(model):
    try:
        frame = copy.deepcopy([[[[Payload()]]]])[0][0][0][0]
        depth = 0
        while frame is not None:
            depth += 1
            frame = frame.f_back
    except PermissionError:
        depth = None
    return {"depth": depth}
