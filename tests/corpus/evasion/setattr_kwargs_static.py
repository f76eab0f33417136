# source: evalpod own (#11 follow-up: the edges of the new allowances)
# expect: EP202
class Tools:
    @staticmethod
    def update(target, **kwargs):
        for key in kwargs:
            setattr(target, key, kwargs[key])


def evaluate_model(model):
    Tools.update(model, device="cpu")
    return {}
