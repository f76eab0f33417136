# source: evalpod own (validator follow-up: a stream parameter's default, its uses judged as the stream's)
# expect: EP109
import sys


def silence(stream=sys.stderr):
    stream.write = len


def evaluate_model(model):
    silence()
    return {"accuracy": 1.0}
