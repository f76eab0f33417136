# source: evalpod own (operator.methodcaller with a format method name)
# expect: EP202
import operator


def evaluate_model(model):
    call = operator.methodcaller("format", model)
    return {"out": call("{0." + "device" + str(len([]))[:0] + "}")}
