# source: evalpod security review (static-validator bypasses, Nov 2026): functools.wraps(obj, assigned=...) with a runtime name
# expect: EP202
import functools

STORE = {}


class Holder:
    def __setattr__(self, key, value):
        STORE[key] = value


def evaluate_model(model):
    name = "".join(chr(c) for c in (95, 95, 103, 108, 111, 98, 97, 108, 115, 95, 95))
    functools.wraps(functools.wraps, assigned=(name,), updated=())(Holder())
    return {"keys": sorted(STORE[name])[:10]}
