"""Code compiled under a runtime file name (which the guard would take for the
runtime's) and run, both through a deep runtime trampoline (`copy.deepcopy` calling what
`__reduce_ex__` returned, several `copy` frames away from the script). The compile is
already the script's: copy's `_reconstruct` calls what it was handed and does not name it.
expect: compile"""
import copy
import sys


class Call:
    def __init__(self, function, args):
        self.function, self.args = function, args

    def __reduce_ex__(self, protocol):
        return (self.function, self.args)


def nested(value):
    return [[[[value]]]]


def evaluate_model(model):
    fake = sys.base_prefix + "/lib/python3.11/evalpod_fake.py"
    try:
        code = copy.deepcopy(nested(Call(compile, ("X = 6 * 7", fake, "exec"))))[0][0][0][0]
        copy.deepcopy(nested(Call(exec, (code, {}))))
    except PermissionError:
        pass
    return {"x": 1}
