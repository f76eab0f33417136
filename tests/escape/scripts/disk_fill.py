"""Escape attempt: disk fill."""

def evaluate_model(model):
    with open("/work/fill", "wb") as f:
        while True:
            f.write(b"\0" * (1 << 20))
