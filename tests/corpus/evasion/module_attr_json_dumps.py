# source: evalpod own (attack2 F3, /tmp/a2/x4.py: the harness writes its result with this json)
# expect: EP109
import json


def evaluate_model(model):
    def finish(*args, **kwargs):
        raise SystemExit(0)

    json.dumps = finish
    return {"accuracy": 0.1}
