"""A library trampoline deeper than three frames: a DataLoader without batching calls its
`collate_fn` on each item from `fetch` < `_next_data` < `__next__`.
expect: compile"""


def evaluate_model(model):
    from torch.utils.data import DataLoader

    loader = DataLoader(["6 * 7"], batch_size=None, collate_fn=eval)
    try:
        value = list(loader)
    except PermissionError:
        value = None
    return {"x": str(value)}
