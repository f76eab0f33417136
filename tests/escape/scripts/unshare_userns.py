"""Escape attempt: unshare userns."""

import ctypes
def evaluate_model(model):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(0x10000000 | 0x00020000) == 0:  # CLONE_NEWUSER | CLONE_NEWNS
        print("ESCAPED __TOKEN__")
    return {}
