"""Escape attempt: ptrace attach."""

import ctypes, time
def evaluate_model(model):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.ptrace(16, __VICTIM_PID__, 0, 0) == 0:  # PTRACE_ATTACH
        print("ESCAPED __TOKEN__")
    time.sleep(1)
    return {}
