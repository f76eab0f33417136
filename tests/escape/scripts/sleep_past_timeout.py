"""Escape attempt: sleep past timeout."""

import time
def evaluate_model(model):
    time.sleep(3600)
    return {}
