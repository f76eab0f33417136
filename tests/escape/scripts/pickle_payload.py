"""Escape attempt: pickle payload."""

import pickle, os
class Evil:
    def __reduce__(self):
        return (os.system, ("echo __TOKEN__ > __MARKER__",))
def evaluate_model(model):
    blob = pickle.dumps(Evil())
    # torch.load(weights_only=False) runs this same unpickler; pickle keeps the test fast
    pickle.loads(blob)
    return {}
