# source: evalpod attacker (static-validator follow-up 3, Nov 2026): a stream parameter's default kept as a class attribute in a nested class body
# expect: EP104
import sys


def holder(stream=sys.stderr):
    class K:
        s = stream
    return K


def evaluate_model(model):
    raw = holder().s.buffer.raw
    return {"fd": float(raw.fileno())}
