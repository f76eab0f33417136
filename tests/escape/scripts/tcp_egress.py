"""Escape attempt: tcp egress."""

import socket
def evaluate_model(model):
    s = socket.create_connection(("127.0.0.1", __TCP_PORT__), timeout=1)
    s.sendall(b"__TOKEN__")
    return {"sent": True}
