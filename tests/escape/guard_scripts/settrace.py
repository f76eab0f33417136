"""Tracing hands every frame to the script: sys.settrace.
expect: sys.settrace"""
import sys


def evaluate_model(model):
    sys.settrace(lambda frame, event, arg: None)
    return {}
