# source: evalpod own (static-validator follow-up 3: variants of the attacker's classes): Handler.setStream returns the stream it replaces
# expect: EP104
import logging


def evaluate_model(model):
    handler = logging.lastResort
    old = handler.setStream(None)
    handler.setStream(old)
    return {"fd": float(old.fileno())}
