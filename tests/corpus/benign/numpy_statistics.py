"""Bootstrap confidence interval of per-item scores with numpy."""
# source: evalpod own (numpy random, percentile, linalg)
# expect: accept
import numpy as np

PAIRS = [("The sun rises in the", " east"), ("Water boils at one hundred", " degrees"),
         ("Cats are", " animals"), ("Snow is", " white")]


def evaluate_model(model):
    scores = np.array([lp for lp, _ in model.loglikelihood(PAIRS)])
    rng = np.random.default_rng(0)
    means = [rng.choice(scores, size=scores.size, replace=True).mean() for _ in range(200)]
    low, high = np.percentile(means, [2.5, 97.5])
    return {"mean": float(scores.mean()), "ci_low": float(low), "ci_high": float(high),
            "norm": float(np.linalg.norm(scores))}
