# source: evalpod own (attack2 F1: a stream's descriptor and binary layers off its text surface)
# expect: EP104
import sys


def evaluate_model(model):
    fd = sys.stdout.fileno()
    sys.stderr.reconfigure(write_through=True)
    sys.stderr.detach()
    return {"fd": fd}
