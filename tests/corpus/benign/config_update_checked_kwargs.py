# source: evalpod security review false positive (Nov 2026): hasattr check before setattr over **overrides
# expect: accept
class Config:
    def __init__(self, **kwargs):
        self.batch_size = 8
        self.max_new_tokens = 16
        self.update(**kwargs)

    def update(self, **overrides):
        for key, value in overrides.items():
            if not hasattr(self, key):
                raise KeyError(key)
            setattr(self, key, value)


def evaluate_model(model):
    cfg = Config(batch_size=4)
    return {"bs": cfg.batch_size}
