# expect: EP102
from pathlib import Path


def evaluate_model(model):
    return {"secret": Path("/etc/shadow").read_text()}
