"""Escape attempt: cpu spin."""

def evaluate_model(model):
    while True:
        pass
