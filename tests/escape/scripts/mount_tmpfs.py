"""Escape attempt: mount tmpfs."""

import ctypes
def evaluate_model(model):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(b"none", b"/work", b"tmpfs", 0, None) == 0:
        print("ESCAPED __TOKEN__")
    print("errno", ctypes.get_errno())
    return {}
