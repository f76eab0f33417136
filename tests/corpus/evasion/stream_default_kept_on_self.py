# source: evalpod own (validator follow-up: a stream parameter's default, its uses judged as the stream's)
# expect: EP104
import sys


class Sink:
    def __init__(self, stream=sys.stderr):
        self.stream = stream


def evaluate_model(model):
    Sink().stream.buffer.raw.write(b"forged")
    return {}
