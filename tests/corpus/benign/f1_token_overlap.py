# source: evalpod own (corpus before #11)
# expect: accept
from collections import Counter


def token_f1(prediction: str, gold: str) -> float:
    p, g = prediction.lower().split(), gold.lower().split()
    common = Counter(p) & Counter(g)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(p), overlap / len(g)
    return 2 * precision * recall / (precision + recall)


DATA = [("Who wrote Hamlet?", "William Shakespeare"), ("Largest planet?", "Jupiter")]


def evaluate_model(model):
    outs = model.generate([q for q, _ in DATA], max_new_tokens=8)
    f1s = [token_f1(o, g) for o, (_, g) in zip(outs, DATA)]
    return {"f1": sum(f1s) / len(f1s)}
