"""A denial caught by the script, which returns metrics as if nothing happened.
expect: socket.__new__"""
import sys


def evaluate_model(model):
    try:
        import socket

        socket.socket()
    except PermissionError:
        pass
    return {"accuracy": 1.0}
