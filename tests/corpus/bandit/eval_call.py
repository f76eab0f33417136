# source: PyCQA/bandit examples/eval.py (B307)
# expect: EP201
def evaluate_model(model):
    return {"x": eval("[1, 2, 3]")}
