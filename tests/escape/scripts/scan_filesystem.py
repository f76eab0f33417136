"""Escape attempt: scan filesystem."""

import os
def evaluate_model(model):
    for root in ("__HOME__", "/work", "/tmp", "/opt", "/etc", "/home"):
        for dirpath, _, files in os.walk(root):
            for name in files:
                try:
                    data = open(os.path.join(dirpath, name), "rb").read(1 << 16)
                except OSError:
                    continue
                if b"__TOKEN__" in data:
                    print("found", data)
                    return {}
    return {}
