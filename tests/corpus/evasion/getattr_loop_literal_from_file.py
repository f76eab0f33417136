# source: evalpod attacker (static-validator follow-up, Nov 2026): getattr over a loop of literal names (for name in ("from_file",))
# expect: EP401
import torch


def evaluate_model(model):
    store = torch.zeros(1, dtype=torch.uint8).untyped_storage()
    for name in ("from_file",):
        load = getattr(store, name)
    raw = load("/job/spec.json", False, 64)
    return {"n": float(len(raw))}
