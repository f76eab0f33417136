# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept B311
import random
import statistics


def bootstrap_ci(values, iterations=200, alpha=0.05, seed=0):
    rng = random.Random(seed)
    means = sorted(
        statistics.fmean(rng.choices(values, k=len(values))) for _ in range(iterations)
    )
    lo = means[int(alpha / 2 * iterations)]
    hi = means[int((1 - alpha / 2) * iterations) - 1]
    return lo, hi


def evaluate_model(model):
    pairs = [("Snow is", " white"), ("Grass is", " green"), ("Coal is", " black"),
             ("The sky is", " blue"), ("Blood is", " red")]
    greedy = [float(g) for _, g in model.loglikelihood(pairs)]
    logprobs = [ll for ll, _ in model.loglikelihood(pairs)]
    lo, hi = bootstrap_ci(logprobs)
    return {
        "greedy_acc": statistics.mean(greedy),
        "logprob_mean": statistics.mean(logprobs),
        "ci_low": lo,
        "ci_high": hi,
        "stdev": statistics.stdev(logprobs),
    }
