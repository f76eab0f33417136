"""Escape attempt: result fifo."""

import os
def evaluate_model(model):
    os.mkfifo("__OUT__/result.json")
    os._exit(0)
