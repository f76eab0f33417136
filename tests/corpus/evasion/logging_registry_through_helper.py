# source: evalpod own (validator follow-up: logging objects a call hands out, changed past EP109)
# expect: EP109
import logging


class Quiet:
    def __init__(self, logger):
        self.logger = logger

    def silence(self):
        self.logger.manager.loggerDict.clear()


def root():
    return logging.getLogger("eval").root


def evaluate_model(model):
    Quiet(root()).silence()
    return {}
