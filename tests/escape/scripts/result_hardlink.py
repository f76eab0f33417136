"""Escape attempt: result hardlink."""

import os
def evaluate_model(model):
    try:
        os.link("__SECRET_JSON__", "__OUT__/result.json")
    except OSError as exc:
        print("link:", exc)
        open("__OUT__/real.json", "w").write('{"ok": true, "metrics": {"x": 1}}')
        os.link("__OUT__/real.json", "__OUT__/result.json")
    os._exit(0)
