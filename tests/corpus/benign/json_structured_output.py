# source: evalpod own (corpus before #11)
# expect: accept
import json


def evaluate_model(model):
    prompt = 'Return a JSON object with a key "ok" set to true: '
    out = model.generate([prompt], max_new_tokens=16)[0]
    start, end = out.find("{"), out.rfind("}")
    valid = False
    if 0 <= start < end:
        try:
            valid = json.loads(out[start:end + 1]).get("ok") is True
        except json.JSONDecodeError:
            valid = False
    return {"json_valid": float(valid), "raw": json.dumps(out)[:80]}
