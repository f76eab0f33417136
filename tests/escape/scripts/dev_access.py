"""Escape attempt: dev access."""

import os
def evaluate_model(model):
    for dev in ("/dev/mem", "/dev/kmsg", "/dev/sda", "/dev/vda"):
        try:
            print(dev, open(dev, "rb").read(16))
            print("ESCAPED __TOKEN__")
        except OSError as exc:
            print(dev, exc)
    open("__MARKER__", "w").write("x")
    return {}
