# source: evalpod own (corpus before #11)
# expect: EP102
import pickle


def evaluate_model(model):
    data = b"cos\nsystem\n(S'id'\ntR."
    return {"v": pickle.loads(data)}
