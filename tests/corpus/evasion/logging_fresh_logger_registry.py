# source: evalpod own (validator follow-up: a logger the script builds itself still reaches the shared registry through its class attributes)
# expect: EP109
import logging


class Quiet(logging.Logger):
    def silence(self):
        self.manager.disable = 99
        self.root.handlers.clear()


def evaluate_model(model):
    Quiet("mine").silence()
    logging.Logger("other").manager.loggerDict.clear()
    return {"accuracy": 1.0}
