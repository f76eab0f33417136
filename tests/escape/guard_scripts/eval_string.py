"""exec/compile of new code: eval of a string.
expect: compile"""


def evaluate_model(model):
    return {"x": eval("6 * 7")}
