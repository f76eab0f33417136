# source: evalpod own (attacker report #2, s3: a class pattern reads the logging registry)
# expect: EP202
import logging


def evaluate_model(model):
    match logging.getLogger():
        case object(manager=m):
            pass
    m.disable = 99
    return {"a": 1.0}
