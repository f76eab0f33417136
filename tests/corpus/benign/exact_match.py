# source: evalpod own (corpus before #11)
# expect: accept
import re
import string

QA = [
    ("Q: What is the capital of France?\nA:", "Paris"),
    ("Q: How many legs does a spider have?\nA:", "eight"),
    ("Q: What colour is the sky on a clear day?\nA:", "blue"),
]


def normalise(text: str) -> str:
    text = text.lower().strip()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def evaluate_model(model):
    prompts = [q for q, _ in QA]
    outputs = model.generate(prompts, max_new_tokens=8)
    hits = 0
    for (prompt, gold), out in zip(QA, outputs):
        first_line = out.split("\n")[0]
        ok = normalise(first_line) == normalise(gold)
        hits += int(ok)
        print(prompt.splitlines()[0], "->", repr(first_line), "OK" if ok else "MISS")
    return {"exact_match": hits / len(QA), "n": len(QA)}
