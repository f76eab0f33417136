# source: evalpod security review (static-validator bypasses, Nov 2026): functools.update_wrapper(assigned=[name]) as a dynamic getattr
# expect: EP202
import functools

STORE = {}


class Holder:
    def __setattr__(self, key, value):
        STORE[key] = value


def fetch(obj, name):
    functools.update_wrapper(Holder(), obj, assigned=[name], updated=[])
    return STORE[name]


def evaluate_model(model):
    under = "".join(chr(c) for c in (95, 95))
    g = fetch(functools.update_wrapper, under + "globals" + under)
    return {"keys": sorted(k for k in g if not k.startswith("_"))[:10]}
