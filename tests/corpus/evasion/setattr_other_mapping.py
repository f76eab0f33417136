# source: evalpod own (#11 follow-up: the edges of the new allowances)
# expect: EP202
class Config:
    def __init__(self, data, **kwargs):
        for key, value in data.items():
            setattr(self, key, value)


def evaluate_model(model):
    Config({"device": "cpu"})
    return {}
