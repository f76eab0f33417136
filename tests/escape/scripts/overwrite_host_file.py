"""Escape attempt: overwrite host file."""

import os
def evaluate_model(model):
    open("__VICTIM_FILE__", "w").write("pwned")
    return {}
