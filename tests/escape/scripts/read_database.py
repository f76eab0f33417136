"""Escape attempt: read database."""

def evaluate_model(model):
    print(open("__HOME__/evalpod.db", "rb").read())
    return {}
