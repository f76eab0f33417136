# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept
"""A thin wrapper that adds caching and forwards everything else to the model handle."""


class CachedModel:
    def __init__(self, inner):
        self._inner = inner
        self._cache = {}
        self.calls = 0

    def loglikelihood(self, pairs):
        missing = [p for p in pairs if p not in self._cache]
        if missing:
            self.calls += 1
            for pair, score in zip(missing, self._inner.loglikelihood(missing)):
                self._cache[pair] = score
        return [self._cache[p] for p in pairs]

    def __getattr__(self, name):
        return getattr(self._inner, name)


def max_length(model):
    config = model.model.config
    for attr in ("n_positions", "max_position_embeddings", "n_ctx"):
        if hasattr(config, attr):
            return getattr(config, attr)
    return 2048


def evaluate_model(model):
    cached = CachedModel(model)
    pairs = [("One, two,", " three"), ("Red, green,", " blue")]
    first = cached.loglikelihood(pairs)
    second = cached.loglikelihood(pairs)
    text = cached.generate(["Hello"], max_new_tokens=2)[0]
    return {"same": first == second, "calls": cached.calls, "max_length": max_length(cached),
            "generated": len(text)}
