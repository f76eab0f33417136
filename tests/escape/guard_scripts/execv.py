"""Process replacement: os.execv.
expect: os.exec"""
import os


def evaluate_model(model):
    os.execv("/bin/true", ["true"])
