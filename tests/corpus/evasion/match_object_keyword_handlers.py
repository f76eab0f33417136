# source: evalpod own (attacker report #2, s6: class patterns read the root handlers and a Logger method)
# expect: EP202
import logging


def evaluate_model(model):
    match logging.getLogger():
        case object(handlers=hs):
            pass
    hs.clear()
    match logging.Logger:
        case object(handle=h):
            pass
    logging.Logger.callHandlers = h
    return {"a": 1.0}
