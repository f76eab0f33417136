"""De-duplicate prompts by a short hash before scoring them."""
# source: issue #11 false positive (hashlib.md5/sha1 for dedup; bandit B324)
# expect: accept B324
import hashlib

PROMPTS = ["The cat sat on the", "The cat sat on the", "A dog ran into the"]


def evaluate_model(model):
    seen = {}
    for prompt in PROMPTS:
        key = hashlib.md5(prompt.encode("utf-8")).hexdigest()
        seen.setdefault(key, prompt)
    fingerprint = hashlib.sha1("".join(sorted(seen)).encode()).hexdigest()[:12]
    scores = model.loglikelihood([(p, " mat") for p in seen.values()])
    return {"unique": len(seen), "fingerprint": fingerprint,
            "mean_logprob": sum(s for s, _ in scores) / len(scores)}
