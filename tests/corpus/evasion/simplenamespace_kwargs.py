# source: evalpod security review (Nov 2026 follow-up): library methods that set an attribute per mapping key (SimpleNamespace(**m) sets one attribute per key)
# expect: EP102
import types


def evaluate_model(model):
    name = "".join(chr(c) for c in (95, 95, 99, 108, 97, 115, 115, 95, 95))
    ns = types.SimpleNamespace(**{name: object})
    return {"x": str(ns)}
