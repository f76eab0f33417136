# source: evalpod own (validator follow-up: a stream parameter's default, its uses judged as the stream's)
# expect: EP104
import sys


def evaluate_model(model):
    get = lambda s=sys.stderr: s
    get().detach()
    return {}
