# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept B101
"""pass@k with the unbiased estimator, checked against brute force over combinations."""
import itertools
import math
import re

import numpy as np

PROBLEMS = [
    ("def add(a, b):\n    return", r"a\s*\+\s*b"),
    ("def neg(x):\n    return", r"-\s*x"),
]


def pass_at_k(n, c, k):
    if n - c < k:
        return 1.0
    return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def brute_force(results, k):
    combos = list(itertools.combinations(results, k))
    return sum(any(combo) for combo in combos) / len(combos)


def evaluate_model(model):
    n, k = 4, 2
    scores = []
    for prompt, pattern in PROBLEMS:
        samples = model.generate([prompt] * n, max_new_tokens=6, temperature=0.8)
        results = [bool(re.search(pattern, s)) for s in samples]
        estimate = pass_at_k(n, sum(results), k)
        assert math.isclose(estimate, brute_force(results, k), abs_tol=1e-9)
        scores.append(estimate)
    grid = dict(itertools.product(["k1", "k2"], [0.0]))
    return {"pass@2": sum(scores) / len(scores), "grid": grid, "comb": math.comb(n, k)}
