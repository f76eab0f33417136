# source: evalpod own (static-validator follow-up 3: variants of the attacker's classes): the handler's stream read by getattr with a literal name
# expect: EP104
import logging
import sys


def evaluate_model(model):
    handler = logging.StreamHandler(sys.stderr)
    raw = getattr(getattr(handler, "stream"), "buffer")
    return {"fd": float(raw.fileno())}
