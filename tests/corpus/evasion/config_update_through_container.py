# source: evalpod security review (Nov 2026 follow-up): library methods that set an attribute per mapping key (the config is kept in a dict, so its item looks like a plain container)
# expect: EP202
class Other:
    pass


def evaluate_model(model):
    name = "".join(chr(c) for c in (95, 95, 99, 108, 97, 115, 115, 95, 95))
    holder = {"config": model.config}
    holder["config"].update({name: Other})
    return {}
