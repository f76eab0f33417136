# source: evalpod attacker (static-validator follow-up, Nov 2026): getattr(store, f.name) over dataclasses.fields of a class with a field named from_file
# expect: EP401
import dataclasses
import torch


@dataclasses.dataclass
class Opts:
    from_file: int = 0


def evaluate_model(model):
    store = torch.zeros(1, dtype=torch.uint8).untyped_storage()
    for f in dataclasses.fields(Opts):
        load = getattr(store, f.name)
    raw = load("/job/spec.json", False, 64)
    return {"n": float(len(raw))}
