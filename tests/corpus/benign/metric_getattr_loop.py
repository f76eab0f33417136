# source: evalpod own (#11 follow-up: ordinary evaluation code, false-positive class)
# expect: accept
from dataclasses import dataclass

METRIC_NAMES = ("accuracy", "f1", "precision", "recall")


@dataclass
class Scores:
    accuracy: float = 0.0
    f1: float = 0.0
    precision: float = 0.0
    recall: float = 0.0


def score(preds, golds):
    tp = sum(p and g for p, g in zip(preds, golds))
    fp = sum(p and not g for p, g in zip(preds, golds))
    fn = sum(g and not p for p, g in zip(preds, golds))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = sum(p == g for p, g in zip(preds, golds)) / len(golds)
    return Scores(accuracy, f1, precision, recall)


def evaluate_model(model):
    prompts = ["Is 2 even? Answer yes or no:", "Is 3 even? Answer yes or no:"]
    outs = model.generate(prompts, max_new_tokens=3)
    preds = ["yes" in out.lower() for out in outs]
    metrics = score(preds, [True, False])
    report = {}
    for name in ("accuracy", "f1"):
        report[name] = getattr(metrics, name)
    report.update({f"{name}_all": getattr(metrics, name, 0.0) for name in METRIC_NAMES})
    report["has_recall"] = hasattr(metrics, "recall")
    return report
