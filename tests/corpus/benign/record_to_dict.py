# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept
"""Plain record objects turned into dicts by a literal list of field names."""
FIELDS = ["prompt", "completion", "logprob"]


class Prediction:
    def __init__(self, prompt, completion, logprob):
        self.prompt = prompt
        self.completion = completion
        self.logprob = logprob

    def as_dict(self):
        return {name: getattr(self, name) for name in FIELDS}

    def __repr__(self):
        parts = ", ".join(f"{name}={getattr(self, name)!r}" for name in ("prompt", "logprob"))
        return f"{self.__class__.__name__}({parts})"


def evaluate_model(model):
    prompts = ["Roses are", "Violets are"]
    completions = model.generate(prompts, max_new_tokens=2)
    scores = model.loglikelihood(list(zip(prompts, completions)))
    preds = [Prediction(p, c, ll) for p, c, (ll, _) in zip(prompts, completions, scores)]
    print(preds[0])
    rows = [p.as_dict() for p in preds]
    return {"rows": len(rows), "keys": sorted(rows[0]), "mean_logprob": sum(r["logprob"] for r in rows) / len(rows)}
