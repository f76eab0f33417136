# source: evalpod own (attack2 F1/F2: sys.stderr.buffer.raw is an io.FileIO, `open` by another name)
# expect: EP104
import sys


def evaluate_model(model):
    b = sys.stderr.buffer
    raw = getattr(b, "raw", b)
    raw.write(b"x")
    return {}
