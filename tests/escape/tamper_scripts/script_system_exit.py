"""A SystemExit(0) raised by evaluate_model is a failure, not a success (docs/scripts.md)."""
import sys


def evaluate_model(model):
    sys.exit(0)
