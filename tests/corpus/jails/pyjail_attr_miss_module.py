# source: pyjail write-ups (AttributeError.obj returns the object a lookup failed on)
# expect: EP107
import math


def evaluate_model(model):
    try:
        math.no_such_name
    except AttributeError as e:
        m = e.obj
        return {"m": str(m)}
    return {}
