# source: evalpod own (#11 follow-up: the edges of the new allowances)
# expect: EP202
class Patcher:
    def apply(self, target, **changes):
        for key, value in changes.items():
            setattr(target, key, value)


def evaluate_model(model):
    Patcher().apply(model.generate, **{"_" * 2 + "defaults" + "_" * 2: (1,)})
    return {}
