# source: bandit blacklist ideas: native code loading (ctypes)
# expect: EP102
import ctypes


def evaluate_model(model):
    return {"pid": ctypes.CDLL(None).getpid()}
