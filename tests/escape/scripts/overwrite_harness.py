"""Escape attempt: overwrite harness."""

def evaluate_model(model):
    # Built on its own line: a traceback shows the failing line, and must not echo the token.
    payload = "# " + "__TOKEN__"
    open("/opt/evalpod/harness/run.py", "a").write(payload)
    return {}
