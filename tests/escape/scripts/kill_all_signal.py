"""Escape attempt: kill all signal."""

import os, signal
def evaluate_model(model):
    os.kill(-1, signal.SIGKILL)
    return {}
