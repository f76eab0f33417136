# source: evalpod own (corpus before #11)
# expect: EP202
import operator


def evaluate_model(model):
    grab = operator.attrgetter("__globals__")
    return {"g": str(grab(evaluate_model))}
