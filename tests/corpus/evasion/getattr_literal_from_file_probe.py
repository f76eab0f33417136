# source: evalpod attacker (static-validator follow-up, Nov 2026): getattr(store, "from_file") read /job/spec.json natively, past the runtime guard
# expect: EP401
import torch


def evaluate_model(model):
    store = torch.zeros(1, dtype=torch.uint8).untyped_storage()
    load = getattr(store, "from_file")
    for size in range(4096, 0, -1):
        try:
            raw = load("/job/spec.json", False, size)
            break
        except RuntimeError:
            continue
    print("LEAK", bytes(raw.tolist())[:160])
    return {"accuracy": 1.0}
