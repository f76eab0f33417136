# source: evalpod own (attacker report #2 variant: a plain script class, subclassed with
# a library base: the subject matches the plain class yet reads the library's attributes)
# expect: EP202
import logging


class Record:
    pass


class Mixed(Record, logging.Logger):
    pass


def evaluate_model(model):
    match Mixed("x"):
        case Record(manager=m):
            pass
    m.disable = 99
    return {"a": 1.0}
