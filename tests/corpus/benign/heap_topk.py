# source: evalpod own (corpus before #11)
# expect: accept
import heapq
import bisect


def evaluate_model(model):
    prompts = ["Once upon a time", "In a galaxy far away", "The meaning of life is"]
    ppl = model.perplexity(prompts)
    ppl = ppl if isinstance(ppl, list) else [ppl] * len(prompts)
    best = heapq.nsmallest(2, zip(ppl, prompts))
    thresholds = [10.0, 100.0, 1000.0]
    buckets = [bisect.bisect(thresholds, p) for p in ppl]
    return {"best_prompt": best[0][1], "buckets": buckets}
