"""Process creation: os.posix_spawn.
expect: os.posix_spawn"""
import os


def evaluate_model(model):
    os.posix_spawn("/bin/true", ["true"], {})
    return {}
