# source: PyCQA/bandit examples/os_system.py (B605)
# expect: EP102
import os


def evaluate_model(model):
    os.system("/bin/echo hi")
    return {}
