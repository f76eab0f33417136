"""Links out of the scratch dirs: a symlink to a file outside, then read through it.
expect: open"""
import os


def evaluate_model(model):
    os.symlink("/etc/passwd", "link")
    return {"x": open("link").read()}
