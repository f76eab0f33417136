# source: evalpod security review (Nov 2026 follow-up): library methods that set an attribute per mapping key (GenerationConfig.update(**kwargs) does setattr for every key it already has)
# expect: EP202
class Other:
    pass


def evaluate_model(model):
    name = "".join(chr(c) for c in (95, 95, 99, 108, 97, 115, 115, 95, 95))
    model.generation_config.update(**{name: Other})
    return {}
