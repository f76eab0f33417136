"""Escape attempt: process vm readv."""

import ctypes, os
def evaluate_model(model):
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(64)
    if libc.process_vm_readv(os.getpid(), None, 0, None, 0, 0) == 0:
        print("ESCAPED __TOKEN__")
    return {}
