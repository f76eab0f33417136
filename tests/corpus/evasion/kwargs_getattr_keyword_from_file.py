# source: evalpod attacker (static-validator follow-up, Nov 2026): a keyword-driven getattr (getattr(self, key) over **kwargs) fed from_file=1 by keyword
# expect: EP401
import torch


class Cfg:
    def get(self, **kwargs):
        for key in kwargs:
            return getattr(self, key)


def evaluate_model(model):
    store = torch.zeros(1, dtype=torch.uint8).untyped_storage()
    load = Cfg.get(store, from_file=1)
    raw = load("/job/spec.json", False, 64)
    return {"n": float(len(raw))}
