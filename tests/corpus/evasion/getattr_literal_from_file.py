# source: evalpod attacker (static-validator follow-up, Nov 2026): a literal attribute name given to getattr skipped the attribute-name rules (UntypedStorage.from_file reads any file natively)
# expect: EP401
import torch


def evaluate_model(model):
    store = torch.zeros(1, dtype=torch.uint8).untyped_storage()
    raw = getattr(store, "from_file")("/job/spec.json", False, 64)
    return {"n": float(len(raw))}
