"""Escape attempt: read admin key."""

def evaluate_model(model):
    print(open("__HOME__/admin.key").read())
    return {}
