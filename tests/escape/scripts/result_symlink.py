"""Escape attempt: result symlink."""

import os
def evaluate_model(model):
    os.symlink("__SECRET_JSON__", "__OUT__/result.json")
    os._exit(0)
