# source: PyCQA/bandit examples/marshal_deserialize.py (B302)
# expect: EP102
import marshal


def evaluate_model(model):
    return {"x": marshal.loads(b"i\x01\x00\x00\x00")}
