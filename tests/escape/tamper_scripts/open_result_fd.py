"""Gap b: the result's fd (4) opened by number (os.fdopen), to forge the result."""
import os


def evaluate_model(model):
    try:
        os.fdopen(4, "wb", closefd=False).write(b'{"ok": true, "metrics": {"accuracy": 0.999}}')
    except OSError:
        pass
    return {"accuracy": 0.1}
