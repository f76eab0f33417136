# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept
import json

SCHEMA_KEYS = {"name", "age"}


def parse_json_answer(text):
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        return None
    try:
        value = json.loads(text[start:end + 1])
    except json.JSONDecodeError as err:
        print(f"invalid JSON at {err.pos}: {err.msg}")
        return None
    return value if isinstance(value, dict) else None


def evaluate_model(model):
    prompt = 'Return JSON with keys name and age for "Ann, 31":'
    outputs = model.generate([prompt, prompt], max_new_tokens=16)
    parsed = [parse_json_answer(o) for o in outputs]
    valid = [p for p in parsed if p is not None]
    complete = [p for p in valid if SCHEMA_KEYS <= p.keys()]
    sample = json.dumps({"outputs": outputs}, ensure_ascii=False, sort_keys=True)
    return {
        "valid_rate": len(valid) / len(outputs),
        "complete_rate": len(complete) / len(outputs),
        "sample_chars": len(sample),
        "roundtrip": json.loads(json.dumps({"a": [1, 2.5, None]})),
    }
