# expect: EP102
import pickle


def evaluate_model(model):
    data = b"cos\nsystem\n(S'id'\ntR."
    return {"v": pickle.loads(data)}
