# source: evalpod own (static-validator follow-up 3: variants of the attacker's classes): import sys in a class body makes sys.modules reachable as K.sys.modules
# expect: EP106
class K:
    import sys


def evaluate_model(model):
    m = K.sys.modules
    return {"a": float(len(m))}
