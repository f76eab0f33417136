"""ctypes is loaded by torch; loading a library with it is still denied.
expect: ctypes.dlopen"""
import torch  # noqa: F401 - brings ctypes in
import sys


def evaluate_model(model):
    ctypes = sys.modules["ctypes"]
    libc = ctypes.CDLL(None)
    return {"x": libc.getpid()}
