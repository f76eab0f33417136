# source: PyCQA/bandit examples/exec.py (B102)
# expect: EP201
def evaluate_model(model):
    exec("x = 1")
    return {}
