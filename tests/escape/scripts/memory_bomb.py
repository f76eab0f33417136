"""Escape attempt: memory bomb."""

def evaluate_model(model):
    hog = []
    while True:
        hog.append(bytearray(16 << 20))
