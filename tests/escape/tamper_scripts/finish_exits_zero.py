"""Gap e: after a caught denial, the harness's json.dumps rebound to raise SystemExit(0)."""
import json
import sys


def evaluate_model(model):
    b = sys.stderr.buffer
    FileIO = type(getattr(b, "raw", b))
    try:
        FileIO("/job/" + "spec.json", "rb").read()
    except OSError:
        pass

    def finish(*a, **k):
        raise SystemExit(0)

    json.dumps = finish
    json.JSONEncoder.encode = finish
    return {"accuracy": 0.1}
