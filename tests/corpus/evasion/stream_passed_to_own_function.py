# source: evalpod own (attack2 F1: the stream handed to script code, whose `.buffer` the analysis cannot tie to sys)
# expect: EP104
import sys


def _binary(stream):
    return stream.buffer.raw


def evaluate_model(model):
    _binary(sys.stderr).write(b"x")
    return {}
