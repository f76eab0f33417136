# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept
"""HF evaluate-style metrics: each a class with _compute, loaded by name from a registry."""
import re
import string
from collections import Counter


def normalize_answer(s):
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


class ExactMatch:
    name = "exact_match"

    def _compute(self, predictions, references):
        hits = [normalize_answer(p) == normalize_answer(r) for p, r in zip(predictions, references)]
        return {"exact_match": sum(hits) / len(hits)}


class TokenF1:
    name = "f1"

    def _compute(self, predictions, references):
        scores = []
        for pred, ref in zip(predictions, references):
            p, r = normalize_answer(pred).split(), normalize_answer(ref).split()
            common = Counter(p) & Counter(r)
            same = sum(common.values())
            if same == 0:
                scores.append(0.0)
                continue
            precision, recall = same / len(p), same / len(r)
            scores.append(2 * precision * recall / (precision + recall))
        return {"f1": sum(scores) / len(scores)}

    def compute(self, **kwargs):
        return self._compute(**kwargs)


METRICS = {cls.name: cls for cls in (ExactMatch, TokenF1)}


def load(name):
    try:
        return METRICS[name]()
    except KeyError:
        raise ValueError(f"unknown metric {name!r}; choose from {sorted(METRICS)}") from None


def evaluate_model(model):
    questions = ["Who wrote Hamlet?", "What color is the sky?"]
    references = ["William Shakespeare", "blue"]
    predictions = model.generate([f"Q: {q}\nA:" for q in questions], max_new_tokens=5)
    results = {}
    for metric_name in ("exact_match", "f1"):
        results.update(load(metric_name)._compute(predictions=predictions, references=references))
    return results
