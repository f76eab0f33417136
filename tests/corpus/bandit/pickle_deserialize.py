# source: PyCQA/bandit examples/pickle_deserialize.py (B301/B403)
# expect: EP102
import pickle


def evaluate_model(model):
    return {"x": pickle.loads(b"\x80\x04K\x01.")}
