# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept
"""Calibration: ECE, MCE and Brier score from a reliability diagram."""
import math
import statistics
from dataclasses import dataclass


@dataclass
class Bin:
    lower: float
    upper: float
    count: int = 0
    confidence_sum: float = 0.0
    correct_sum: float = 0.0

    @property
    def gap(self) -> float:
        if not self.count:
            return 0.0
        return abs(self.confidence_sum / self.count - self.correct_sum / self.count)


def reliability(confidences, correct, n_bins=4):
    bins = [Bin(i / n_bins, (i + 1) / n_bins) for i in range(n_bins)]
    for conf, ok in zip(confidences, correct):
        index = min(int(conf * n_bins), n_bins - 1)
        bins[index].count += 1
        bins[index].confidence_sum += conf
        bins[index].correct_sum += float(ok)
    return bins


def evaluate_model(model):
    items = [("The sun rises in the", " east", True), ("Two plus two is", " five", False),
             ("Water boils at 100 degrees", " Celsius", True), ("Cats are", " reptiles", False)]
    scores = model.loglikelihood([(c, a) for c, a, _ in items])
    confidences = [1.0 / (1.0 + math.exp(-ll)) for ll, _ in scores]
    correct = [label for _, _, label in items]
    bins = reliability(confidences, correct)
    total = sum(b.count for b in bins)
    ece = sum(b.count / total * b.gap for b in bins)
    mce = max(b.gap for b in bins)
    brier = statistics.fmean((c - float(y)) ** 2 for c, y in zip(confidences, correct))
    return {"ece": ece, "mce": mce, "brier": brier}
