# source: evalpod security review (Nov 2026 follow-up): library methods that set an attribute per mapping key (the mapping is built in a variable, then changed in place)
# expect: EP202
class Other:
    pass


def evaluate_model(model):
    name = "".join(chr(c) for c in (95, 95, 99, 108, 97, 115, 115, 95, 95))
    overrides = {"temperature": 0.5}
    overrides[name] = Other
    model.config.update(overrides)
    return {}
