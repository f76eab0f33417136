# source: evalpod own (validator follow-up: a stream given to a helper whose parameter defaults to a stream, through a decorator's wrapper that sees it unjudged)
# expect: EP104
import sys


def tap(function):
    def wrapper(msg, stream):
        stream.buffer.raw.write(b"forged")
        return function(msg, stream)
    return wrapper


@tap
def log(msg, stream=sys.stderr):
    print(msg, file=stream)


def evaluate_model(model):
    log("start", sys.stderr)
    return {}
