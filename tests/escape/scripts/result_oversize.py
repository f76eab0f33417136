"""Escape attempt: result oversize."""

import os
def evaluate_model(model):
    with open("__OUT__/result.json", "w") as f:
        f.write('{"ok": true, "metrics": {"pad": "' + "x" * (3 << 20) + '"}}')
    os._exit(0)
