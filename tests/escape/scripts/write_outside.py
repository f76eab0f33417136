"""Escape attempt: write outside."""

def evaluate_model(model):
    for path in ("__MARKER__", "/usr/evalpod-marker", "/opt/evalpod/harness/x", "/job/x"):
        try:
            open(path, "w").write("__TOKEN__")
        except OSError as exc:
            print(path, exc)
    return {}
