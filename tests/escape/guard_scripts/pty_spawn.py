"""A terminal and a shell: pty (a denied module).
expect: import"""
import pty


def evaluate_model(model):
    pty.spawn("/bin/sh")
    return {}
