"""A second audit hook (to watch or to crash the guard): sys.addaudithook.
expect: sys.addaudithook"""
import sys


def evaluate_model(model):
    sys.addaudithook(lambda event, args: None)
    return {}
