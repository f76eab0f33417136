# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept
"""Count failures by exception type while scoring, as evaluation loops often do."""
from collections import Counter


def parse_int(text):
    return int(text.strip().split()[0])


def evaluate_model(model):
    outputs = model.generate(["7 * 6 =", "10 / 2 =", "Answer with a number:"], max_new_tokens=3)
    golds = [42, 5, 0]
    errors = Counter()
    correct = 0
    for out, gold in zip(outputs, golds):
        try:
            correct += parse_int(out) == gold
        except (ValueError, IndexError) as exc:
            errors[exc.__class__.__name__] += 1
        except Exception as exc:  # noqa: BLE001 - count anything else too
            errors[type(exc).__qualname__] += 1
        else:
            errors["ok"] += 1
        finally:
            pass
    return {"accuracy": correct / len(golds), "errors": dict(errors)}
