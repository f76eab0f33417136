"""Escape attempt: metadata service."""

import socket, urllib.request
def evaluate_model(model):
    try:
        print(urllib.request.urlopen("http://169.254.169.254/latest/meta-data/", timeout=1).read())
    except Exception as exc:
        print("metadata:", exc)
    s = socket.create_connection(("127.0.0.1", __TCP_PORT__), timeout=1)
    s.sendall(b"__TOKEN__")
    return {}
