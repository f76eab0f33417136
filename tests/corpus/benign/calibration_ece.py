# source: evalpod own (corpus before #11)
# expect: accept
import math

import numpy as np

QUESTIONS = [
    ("Is water wet? Answer:", " yes", 1),
    ("Is fire cold? Answer:", " yes", 0),
    ("Is the earth round? Answer:", " yes", 1),
    ("Do fish fly? Answer:", " yes", 0),
]


def expected_calibration_error(confidences, labels, bins=5):
    confidences = np.asarray(confidences, dtype=float)
    labels = np.asarray(labels, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = (confidences > lo) & (confidences <= hi)
        if mask.any():
            gap = abs(confidences[mask].mean() - labels[mask].mean())
            ece += mask.mean() * gap
    return float(ece)


def evaluate_model(model):
    scores = model.loglikelihood([(q, a) for q, a, _ in QUESTIONS])
    probs = [math.exp(s[0] if isinstance(s, (list, tuple)) else s) for s in scores]
    labels = [y for _, _, y in QUESTIONS]
    return {"ece": expected_calibration_error(probs, labels), "mean_conf": float(np.mean(probs))}
