# source: evalpod security review (Nov 2026 follow-up): library methods that set an attribute per mapping key (the setter taken as a value, then called where the receiver is out of sight)
# expect: EP202
class Other:
    pass


def evaluate_model(model):
    name = "".join(chr(c) for c in (95, 95, 99, 108, 97, 115, 115, 95, 95))
    put = model.config.update
    put({name: Other})
    return {}
