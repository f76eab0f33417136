"""Gaps c+d: bytes added to the record through its fd (os.write raises no audit event)."""
import os


def evaluate_model(model):
    os.write(3, b'{"ok": true}\n')
    return {"accuracy": 0.999}
