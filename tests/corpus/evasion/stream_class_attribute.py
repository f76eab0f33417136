# source: evalpod attacker (static-validator follow-up 3, Nov 2026): sys.stderr kept as a class attribute in a module-level class body
# expect: EP104
import sys


class K:
    s = sys.stderr


def evaluate_model(model):
    raw = K.s.buffer.raw
    return {"fd": float(raw.fileno())}
