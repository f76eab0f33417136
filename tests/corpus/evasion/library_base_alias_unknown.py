# source: evalpod own (validator follow-up: a class base the analysis cannot pin to one class; the caller's class hands out the model's config from __new__)
# expect: EP202
CONFIGS = []


class Handout:
    def __new__(cls):
        return CONFIGS[0]


def build(base_class, flag):
    Base = object if flag else base_class

    class Settings(Base):
        def update(self, values):
            pass

    key = "".join(chr(c) for c in (116, 111, 114, 99, 104, 95, 100, 116, 121, 112, 101))
    Settings().update({key: "float64"})


def evaluate_model(model):
    CONFIGS.append(model.config)
    build(Handout, False)
    return {}
