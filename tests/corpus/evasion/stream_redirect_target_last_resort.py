# source: evalpod attacker (static-validator follow-up 3, Nov 2026): the `as` target of redirect_stdout(sys.stderr), and logging.lastResort.stream (never names sys)
# expect: EP104
import contextlib
import logging
import sys


def evaluate_model(model):
    with contextlib.redirect_stdout(sys.stderr) as s:
        a = s.buffer.raw
    b = logging.lastResort.stream.buffer.raw
    return {"redirect_raw_fd": float(a.fileno()), "last_resort_raw_fd": float(b.fileno())}
