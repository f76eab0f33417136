# source: evalpod attacker (static-validator follow-up, Nov 2026), EP202 false positive: Counter.update and a dict comprehension's update
# expect: accept
import collections


def evaluate_model(model):
    counts = collections.Counter()
    per_task = {}
    for task, ok in [("a", True), ("b", False), ("a", False)]:
        counts.update([task])
        per_task.setdefault(task, []).append(float(ok))
    summary = {t: sum(v) / len(v) for t, v in per_task.items()}
    summary.update({"n_" + t: float(c) for t, c in counts.items()})
    return summary
