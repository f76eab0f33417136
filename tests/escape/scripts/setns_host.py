"""Escape attempt: setns host."""

import ctypes, os
def evaluate_model(model):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open("/proc/self/ns/mnt", os.O_RDONLY)
    if libc.setns(fd, 0) == 0:
        print("ESCAPED __TOKEN__")
    return {}
