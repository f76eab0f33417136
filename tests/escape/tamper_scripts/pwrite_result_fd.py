"""Attack 5 (match capture of torch.cuda.os): os.pwrite on the result's fd (4), which
raises no audit event of its own, then os._exit(0) past the harness's finish."""
import os


def evaluate_model(model):
    try:
        os.pwrite(4, b'{"ok": true, "metrics": {"forged": 1.0}}', 0)
    except OSError:
        pass
    os._exit(0)
