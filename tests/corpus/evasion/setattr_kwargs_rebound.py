# source: evalpod own (#11 follow-up: the edges of the new allowances)
# expect: EP202
class Config:
    def __init__(self, source, **kwargs):
        kwargs = dict(source)
        for key, value in kwargs.items():
            setattr(self, key, value)


def evaluate_model(model):
    Config({"device": "cpu"})
    return {}
