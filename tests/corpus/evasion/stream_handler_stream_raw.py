# source: evalpod attacker (static-validator follow-up 3, Nov 2026): logging.StreamHandler(sys.stderr).stream.buffer.raw
# expect: EP104
import logging
import sys


def evaluate_model(model):
    h = logging.StreamHandler(sys.stderr)
    raw = h.stream.buffer.raw
    n = raw.write(b"RAW-WRITE past the text layer, fd %d\n" % raw.fileno())
    return {"raw_written": float(n), "fd": float(raw.fileno())}
