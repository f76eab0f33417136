"""Escape attempt: bpf syscall."""

import ctypes
def evaluate_model(model):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(321, 0, 0, 0) >= 0:  # bpf(BPF_MAP_CREATE, NULL, 0)
        print("ESCAPED __TOKEN__")
    return {}
