# source: evalpod attacker (static-validator follow-up, Nov 2026): a torch storage reads a raw file descriptor natively (_set_from_file)
# expect: EP401
import torch


def evaluate_model(model):
    store = torch.zeros(64, dtype=torch.uint8).untyped_storage()
    store._set_from_file(0, 0, True, 1)
    return {"n": float(store.size())}
