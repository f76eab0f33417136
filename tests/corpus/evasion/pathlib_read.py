# source: evalpod own (corpus before #11)
# expect: EP102
from pathlib import Path


def evaluate_model(model):
    return {"secret": Path("/etc/shadow").read_text()}
