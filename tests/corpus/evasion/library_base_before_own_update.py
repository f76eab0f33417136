# source: evalpod own (validator follow-up: own methods on library bases; a library base ahead of the script's def in the MRO)
# expect: EP202
import transformers


class Own:
    def update(self, values):
        self.values = values


class Settings(transformers.PretrainedConfig, Own):
    pass


def evaluate_model(model):
    key = "".join(chr(c) for c in (95, 95, 99, 108, 97, 115, 115, 95, 95))
    Settings().update({key: type(model.config)})
    return {}
