"""A denial caught by the script, which then exits at once: still reported.
expect: os.system"""
import os


def evaluate_model(model):
    try:
        os.system("id")
    except PermissionError:
        pass
    os._exit(0)
