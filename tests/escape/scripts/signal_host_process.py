"""Escape attempt: signal host process."""

import os, signal
def evaluate_model(model):
    os.kill(__VICTIM_PID__, signal.SIGKILL)
    return {}
