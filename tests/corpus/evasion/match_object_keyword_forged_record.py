# source: evalpod own (attacker report #2, h2: a class pattern binds os, whose pwrite forges the result record)
# expect: EP202
import torch


def evaluate_model(model):
    match torch.cuda:
        case object(os=o):
            pass
    try:
        o.pwrite(4, b'{"ok": true, "metrics": {"forged": 1.0}}', 0)
        print("pwrite ok")
    except Exception as exc:
        print("pwrite:", type(exc).__name__, exc)
    o._exit(0)
