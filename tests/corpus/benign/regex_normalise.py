# source: evalpod own (corpus before #11)
# expect: accept
import re
import unicodedata

NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
ITEMS = [("What is 12 + 30?", 42.0), ("What is 9 * 9?", 81.0), ("What is 100 / 4?", 25.0)]


def first_number(text: str) -> float | None:
    text = unicodedata.normalize("NFKC", text).replace(",", "")
    match = NUMBER.search(text)
    return float(match.group()) if match else None


def evaluate_model(model):
    outs = model.generate([q + " Answer:" for q, _ in ITEMS], max_new_tokens=6)
    correct = sum(1 for out, (_, gold) in zip(outs, ITEMS) if first_number(out) == gold)
    return {"arithmetic_acc": correct / len(ITEMS)}
