"""Escape attempt: output flood."""

import sys
def evaluate_model(model):
    line = "x" * 200 + "\n"
    while True:
        sys.stdout.write(line * 100)
