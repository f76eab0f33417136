# source: evalpod security review (Nov 2026 follow-up): library methods that set an attribute per mapping key (a helper forwards its own **kwargs to the setter; the caller builds the key)
# expect: EP202
class Other:
    pass


def tweak(config, **overrides):
    config.update(overrides)


def evaluate_model(model):
    name = "".join(chr(c) for c in (95, 95, 99, 108, 97, 115, 115, 95, 95))
    tweak(model.config, **{name: Other})
    return {}
