# source: evalpod own (corpus before #11)
# expect: accept
"""Perplexity on a few held-out sentences."""
import math

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "Language models assign probabilities to sequences of tokens.",
    "Evaluation should be reproducible and cheap.",
]


def evaluate_model(model):
    ppl = model.perplexity(TEXTS)
    if isinstance(ppl, list):
        mean = sum(ppl) / len(ppl)
    else:
        mean = float(ppl)
    print(f"perplexity over {len(TEXTS)} texts: {mean:.3f}")
    return {"perplexity": mean, "log_perplexity": math.log(mean)}
