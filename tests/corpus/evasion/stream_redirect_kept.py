# source: evalpod own (static-validator follow-up 3: variants of the attacker's classes): a redirect object kept past its with keeps the stream
# expect: EP104
import contextlib
import sys


def evaluate_model(model):
    cm = contextlib.redirect_stdout(sys.stderr)
    with cm:
        print("x")
    return {"a": float(cm._new_target.fileno())}
