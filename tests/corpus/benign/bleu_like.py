# source: evalpod own (corpus before #11)
# expect: accept
import math
from collections import Counter

REFS = {
    "Translate to French: cat": "chat",
    "Translate to French: dog": "chien",
    "Translate to French: house": "maison",
}


def ngrams(tokens, n):
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def bleu(candidate: str, reference: str, max_n: int = 2) -> float:
    cand, ref = candidate.split(), reference.split()
    if not cand:
        return 0.0
    log_precision = 0.0
    for n in range(1, max_n + 1):
        overlap = ngrams(cand, n) & ngrams(ref, n)
        total = max(sum(ngrams(cand, n).values()), 1)
        log_precision += math.log((sum(overlap.values()) + 1) / (total + 1))
    brevity = min(1.0, math.exp(1 - len(ref) / len(cand)))
    return brevity * math.exp(log_precision / max_n)


def evaluate_model(model):
    prompts = list(REFS)
    outputs = model.generate(prompts, max_new_tokens=5)
    scores = [bleu(out.strip(), REFS[p]) for p, out in zip(prompts, outputs)]
    return {"bleu": sum(scores) / len(scores)}
