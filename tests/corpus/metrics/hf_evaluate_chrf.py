"""Character n-gram F-score (chrF), as sacrebleu computes it for HF `evaluate`."""
# source: huggingface/evaluate metrics/chrf (sacrebleu CHRF, beta=2), self-contained
# expect: accept
from collections import Counter

ITEMS = [("Spell the number 3 in words:", "three"), ("Spell the number 7 in words:", "seven")]


def char_ngrams(text, n):
    text = text.replace(" ", "")
    return Counter(text[i:i + n] for i in range(len(text) - n + 1))


def chrf(hypothesis, reference, max_n=6, beta=2.0):
    precisions, recalls = [], []
    for n in range(1, max_n + 1):
        hyp, ref = char_ngrams(hypothesis, n), char_ngrams(reference, n)
        overlap = sum((hyp & ref).values())
        if hyp:
            precisions.append(overlap / sum(hyp.values()))
        if ref:
            recalls.append(overlap / sum(ref.values()))
    p = sum(precisions) / len(precisions) if precisions else 0.0
    r = sum(recalls) / len(recalls) if recalls else 0.0
    if p + r == 0:
        return 0.0
    return 100.0 * (1 + beta**2) * p * r / (beta**2 * p + r)


def evaluate_model(model):
    outputs = model.generate([p for p, _ in ITEMS], max_new_tokens=4, stop=["\n"])
    scores = [chrf(o.strip(), ref) for o, (_, ref) in zip(outputs, ITEMS)]
    return {"chrf": sum(scores) / len(scores)}
