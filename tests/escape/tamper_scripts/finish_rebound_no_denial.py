"""Gap e without a denial: the harness still writes the script's own result."""
import json


def evaluate_model(model):
    def finish(*a, **k):
        raise SystemExit(0)

    json.dumps = finish
    json.JSONEncoder.encode = finish
    return {"accuracy": 0.25}
