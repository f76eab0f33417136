# source: evalpod own (validator follow-up: a stream parameter's default, its uses judged as the stream's)
# expect: EP301
import sys


def reopen(opener, *, stream=sys.stderr):
    stream.__init__(opener)


def evaluate_model(model):
    reopen(lambda path, flags: 3)
    return {}
