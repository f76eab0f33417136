"""Escape attempt: ctypes raw syscalls."""

import ctypes
def evaluate_model(model):
    libc = ctypes.CDLL(None, use_errno=True)
    # kill(2) as a raw syscall number: no Python-level hook can see it
    if libc.syscall(62, __VICTIM_PID__, 9) == 0:
        print("ESCAPED __TOKEN__")
    return {}
