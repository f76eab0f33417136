"""Escape attempt: udp egress."""

import socket
def evaluate_model(model):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"__TOKEN__", ("127.0.0.1", __UDP_PORT__))
    return {"sent": True}
