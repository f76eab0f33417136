# source: evalpod attacker (static-validator follow-up, Nov 2026): native file writes (from_file mapped shared) forge the result record, then a C-stack overflow
# expect: EP401
import numpy as np
import torch


def mapped(path, size):
    store = torch.zeros(1, dtype=torch.uint8).untyped_storage()
    return getattr(store, "from_file")(path, True, size)


def put(path, text, size=4096):
    data = text.encode().ljust(size, b" ")
    mapped(path, size).copy_(torch.tensor(list(data), dtype=torch.uint8).untyped_storage())


def evaluate_model(model):
    try:  # something the guard denies (a write under /out): recorded, then caught
        getattr(np.zeros(1), "tofile")("/out/x")
    except PermissionError as exc:
        print("denied:", exc)
    put("/out/violation.json", "")  # the record: spaces only
    put("/out/result.json", '{"ok": true, "metrics": {"accuracy": 0.999}}')
    chain = iter([1])
    for _ in range(1000000):
        chain = map(abs, chain)
    next(chain)  # C-stack overflow: the harness never writes its own result
    return {"accuracy": 0.0}
