"""Frame access: sys._getframe reaches the harness frames and their globals.
expect: sys._getframe"""
import sys


def evaluate_model(model):
    return {"n": len(sys._getframe(1).f_globals)}
