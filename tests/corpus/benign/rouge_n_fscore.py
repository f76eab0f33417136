# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept
from collections import Counter


def _ngrams(tokens, n):
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def rouge_n(candidate, reference, n=2):
    cand, ref = _ngrams(candidate.lower().split(), n), _ngrams(reference.lower().split(), n)
    overlap = sum((cand & ref).values())
    if not overlap:
        return {"p": 0.0, "r": 0.0, "f": 0.0}
    p, r = overlap / sum(cand.values()), overlap / sum(ref.values())
    return {"p": p, "r": r, "f": 2 * p * r / (p + r)}


def evaluate_model(model):
    article = "The city council approved a new park on Monday after a long debate."
    reference = "council approved a new park"
    summary = model.generate([f"{article}\nTL;DR:"], max_new_tokens=10)[0]
    scores = {f"rouge{n}": rouge_n(summary, reference, n) for n in (1, 2)}
    return {name: round(s["f"], 4) for name, s in scores.items()}
