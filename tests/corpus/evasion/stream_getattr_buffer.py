# source: evalpod own (attack2 F1: the stream's binary layer taken by a literal getattr)
# expect: EP104
import sys


def evaluate_model(model):
    getattr(sys.stdout, "buffer").write(b"x")
    return {}
