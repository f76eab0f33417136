# source: evalpod security review (Nov 2026 follow-up): library methods that set an attribute per mapping key (PretrainedConfig.from_dict sets an attribute per key)
# expect: EP202
import transformers


class Other:
    pass


def evaluate_model(model):
    name = "".join(chr(c) for c in (95, 95, 99, 108, 97, 115, 115, 95, 95))
    config = transformers.PretrainedConfig.from_dict({name: Other})
    return {"x": type(config).__name__}
