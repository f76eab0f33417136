"""Mean and bootstrap standard error of per-sample scores, as lm-eval reports them."""
# source: EleutherAI/lm-evaluation-harness lm_eval/api/metrics.py (mean, sample_stddev, bootstrap_stderr), adapted
# expect: accept B311
import math
import random
import statistics

PAIRS = [("One, two,", " three"), ("A, B,", " C"), ("Monday, Tuesday,", " Wednesday")]


def bootstrap_stderr(values, iters=200, seed=1234):
    rnd = random.Random(seed)
    means = [statistics.fmean(rnd.choices(values, k=len(values))) for _ in range(iters)]
    return statistics.stdev(means)


def evaluate_model(model):
    greedy = [float(g) for _, g in model.loglikelihood(PAIRS)]
    mean = statistics.fmean(greedy)
    stderr = statistics.pstdev(greedy) / math.sqrt(len(greedy))
    return {"acc": mean, "acc_stderr": stderr, "acc_bootstrap_stderr": bootstrap_stderr(greedy)}
