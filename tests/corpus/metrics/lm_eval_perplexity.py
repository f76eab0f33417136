"""Word perplexity, byte perplexity and bits per byte from rolling log-likelihoods."""
# source: EleutherAI/lm-evaluation-harness lm_eval/api/metrics.py (weighted_perplexity, bits_per_byte), adapted
# expect: accept
import math
import re

DOCS = ["The quick brown fox jumps over the lazy dog.",
        "Evaluation harnesses score language models on many tasks."]


def count_words(doc):
    return len(re.split(r"\s+", doc.strip()))


def weighted_mean(items):
    a, b = zip(*items)
    return sum(a) / sum(b)


def evaluate_model(model):
    totals = model.loglikelihood_rolling(DOCS)
    words = [(ll, count_words(doc)) for ll, doc in zip(totals, DOCS)]
    nbytes = [(ll, len(doc.encode("utf-8"))) for ll, doc in zip(totals, DOCS)]
    return {
        "word_perplexity": math.exp(-weighted_mean(words)),
        "byte_perplexity": math.exp(-weighted_mean(nbytes)),
        "bits_per_byte": -weighted_mean(nbytes) / math.log(2),
    }
