"""Escape attempt: overwrite harness."""

def evaluate_model(model):
    open("/opt/evalpod/harness/run.py", "a").write("# __TOKEN__")
    return {}
