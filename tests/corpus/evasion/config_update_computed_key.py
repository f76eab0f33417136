# source: evalpod security review (Nov 2026 follow-up): library methods that set an attribute per mapping key (PretrainedConfig.update swaps a class by a computed name)
# expect: EP202
class Other:
    pass


def evaluate_model(model):
    name = "".join(chr(c) for c in (95, 95, 99, 108, 97, 115, 115, 95, 95))
    model.config.update({name: Other})
    return {"x": type(model.config).__name__}
