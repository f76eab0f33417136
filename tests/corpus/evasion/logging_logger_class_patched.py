# source: evalpod own (validator follow-up: logging objects a call hands out, changed past EP109)
# expect: EP109
import logging


def _record(self, *args, **kwargs):
    return args


def evaluate_model(model):
    cls = logging.getLoggerClass()
    cls.makeRecord = _record
    return {}
