# source: evalpod own (attacker report #2, r7: a config class made to hand out the model config)
# expect: EP301
class Cfg:
    def update(self, other):
        return other


def evaluate_model(model):
    setattr(Cfg, "__new__", staticmethod(lambda cls: model.model.config))
    cfg = Cfg()
    cfg.update({"vocab_size": 7})
    return {"a": 1.0}
