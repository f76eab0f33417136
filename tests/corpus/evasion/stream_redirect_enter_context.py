# source: evalpod own (static-validator follow-up 3: variants of the attacker's classes): ExitStack.enter_context(redirect_stdout(sys.stderr)) hands the stream back
# expect: EP104
import contextlib
import sys


def evaluate_model(model):
    with contextlib.ExitStack() as stack:
        s = stack.enter_context(contextlib.redirect_stdout(sys.stderr))
        b = s.detach()
    return {"a": 1.0}
