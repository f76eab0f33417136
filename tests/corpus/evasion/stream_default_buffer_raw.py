# source: evalpod own (validator follow-up: a stream parameter's default, its uses judged as the stream's)
# expect: EP104
import sys


def binary(stream=sys.stderr):
    return stream.buffer.raw


def evaluate_model(model):
    binary().write(b"forged")
    return {}
