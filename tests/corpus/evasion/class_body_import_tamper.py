# source: evalpod own (static-validator follow-up 3: variants of the attacker's classes): import json in a class body lets K.json.dumps be replaced
# expect: EP106
class K:
    import json


def evaluate_model(model):
    K.json.dumps = str
    return {"a": 1.0}
