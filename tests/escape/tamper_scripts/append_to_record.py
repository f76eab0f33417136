"""Gaps c+d: bytes added to the record through its fd (os.write raised no audit event; since
round 5 it raises one, which the guard denies on the record's fd)."""
import os


def evaluate_model(model):
    os.write(3, b'{"ok": true}\n')
    return {"accuracy": 0.999}
