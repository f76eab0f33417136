"""`code.replace(co_filename=<a runtime file>)` through a deep runtime trampoline: a
code object the guard would take for the runtime's. Its first step, reading `__code__`
through the trampoline, is already the script's (copy does not name the attribute it
reads); `code.__new__` under a runtime name stays denied on its own (code_replace.py).
expect: object.__getattr__"""
import copy
import functools
import sys


class Call:
    def __init__(self, function, args):
        self.function, self.args = function, args

    def __reduce_ex__(self, protocol):
        return (self.function, self.args)


def payload():
    return 42


def evaluate_model(model):
    fake = sys.base_prefix + "/lib/python3.11/evalpod_fake.py"
    code = copy.deepcopy([[[[Call(getattr, (payload, "__code__"))]]]])[0][0][0][0]
    replace = functools.partial(code.replace, co_filename=fake)
    try:
        copy.deepcopy([[[[Call(replace, ())]]]])
    except PermissionError:
        pass
    return {"x": 1}
