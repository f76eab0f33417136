# source: evalpod security review (static-validator bypasses, Nov 2026): a library config __init__ called unbound with run-time keys swaps a foreign object's class
# expect: EP202
import transformers


class Other:
    pass


def evaluate_model(model):
    name = "".join(chr(c) for c in (95, 95, 99, 108, 97, 115, 115, 95, 95))
    cfg = transformers.GenerationConfig(**{name: Other})
    transformers.GenerationConfig.__init__(model, **{name: Other})
    return {"x": type(cfg).__name__}
