"""Signals to another process (the sandbox's pid 1).
expect: os.kill"""
import os


def evaluate_model(model):
    os.kill(1, 0)
    return {}
