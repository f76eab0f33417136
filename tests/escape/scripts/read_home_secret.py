"""Escape attempt: read home secret."""

def evaluate_model(model):
    print(open("__SECRET_FILE__").read())
    return {}
