# source: evalpod attacker (static-validator follow-up, Nov 2026), EP202 false positive: metrics.update on a dict returned by a script function that returns only dicts
# expect: accept
import statistics


def score_batch(predictions, references):
    hits = [p.strip() == r.strip() for p, r in zip(predictions, references)]
    return {"exact_match": sum(hits) / len(hits), "n": float(len(hits))}


def length_stats(predictions):
    return {"mean_len": statistics.mean(len(p) for p in predictions)}


def evaluate_model(model):
    predictions = ["Paris", "4"]
    references = ["Paris", "four"]
    metrics = score_batch(predictions, references)
    metrics.update(length_stats(predictions))
    return metrics
