# source: evalpod own (validator follow-up: logging objects a call hands out, changed past EP109)
# expect: EP109
import logging


class Sink:
    def write(self, text):
        return len(text)

    def flush(self):
        pass


def evaluate_model(model):
    for handler in logging.getLogger().handlers:
        handler.stream = Sink()
    return {}
