"""The other unaudited ways to write, replace or close the harness's descriptors: each
is tried; the first one the guard denies ends the job (its end is the harness's)."""
import os


def evaluate_model(model):
    attempts = [
        lambda: os.write(4, b'{"ok": true, "metrics": {"forged": 1.0}}'),
        lambda: os.writev(4, [b"{}"]),
        lambda: os.lseek(3, 0, 0),
        lambda: os.dup2(1, 3),
        lambda: os.closerange(3, 5),
        lambda: os.close(4),
    ]
    for attempt in attempts:
        try:
            attempt()
        except OSError:
            pass
    return {"forged": 1.0}
