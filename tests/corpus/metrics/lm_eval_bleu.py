"""Corpus BLEU with brevity penalty, the n-gram statistic lm-eval reports via sacrebleu."""
# source: EleutherAI/lm-evaluation-harness lm_eval/api/metrics.py (bleu) + Papineni et al. 2002, self-contained
# expect: accept
import math
from collections import Counter

ITEMS = [("Translate to French: cat ->", "chat"), ("Translate to French: dog ->", "chien")]


def ngrams(tokens, n):
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def corpus_bleu(hypotheses, references, max_n=4, smooth=1.0):
    matches = [0] * max_n
    totals = [0] * max_n
    hyp_len = ref_len = 0
    for hyp, ref in zip(hypotheses, references):
        h, r = hyp.split(), ref.split()
        hyp_len += len(h)
        ref_len += len(r)
        for n in range(1, max_n + 1):
            overlap = ngrams(h, n) & ngrams(r, n)
            matches[n - 1] += sum(overlap.values())
            totals[n - 1] += max(len(h) - n + 1, 0)
    log_precision = sum(math.log((m + smooth) / (t + smooth)) for m, t in zip(matches, totals))
    brevity = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / max(hyp_len, 1))
    return 100.0 * brevity * math.exp(log_precision / max_n)


def evaluate_model(model):
    outputs = model.generate([p for p, _ in ITEMS], max_new_tokens=4, stop=["\n"])
    return {"bleu": corpus_bleu([o.strip() for o in outputs], [r for _, r in ITEMS])}
