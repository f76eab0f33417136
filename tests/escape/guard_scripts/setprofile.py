"""Profiling hands every frame to the script: sys.setprofile.
expect: sys.setprofile"""
import sys


def evaluate_model(model):
    sys.setprofile(lambda frame, event, arg: None)
    return {}
