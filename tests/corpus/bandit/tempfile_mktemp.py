# source: PyCQA/bandit examples/mktemp.py (B306)
# expect: EP102
from tempfile import mktemp


def evaluate_model(model):
    return {"path": mktemp()}
