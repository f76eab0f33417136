# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept
import functools
import math


@functools.total_ordering
class RunningStat:
    """Welford's online mean and variance."""

    __slots__ = ("n", "_mean", "_m2")

    def __init__(self):
        self.n = 0
        self._mean = 0.0
        self._m2 = 0.0

    def push(self, x):
        self.n += 1
        delta = x - self._mean
        self._mean += delta / self.n
        self._m2 += delta * (x - self._mean)
        return self

    @property
    def mean(self):
        return self._mean

    @property
    def variance(self):
        return self._m2 / (self.n - 1) if self.n > 1 else 0.0

    @property
    def stderr(self):
        return math.sqrt(self.variance / self.n) if self.n else math.nan

    def __repr__(self):
        return f"{type(self).__name__}(n={self.n}, mean={self.mean:.4f}, stderr={self.stderr:.4f})"

    def __eq__(self, other):
        if not isinstance(other, RunningStat):
            return NotImplemented
        return self.mean == other.mean

    def __lt__(self, other):
        return self.mean < other.mean

    def __len__(self):
        return self.n


def evaluate_model(model):
    stat = RunningStat()
    pairs = [("The capital of Italy is", " Rome"), ("The capital of Spain is", " Madrid")]
    for logprob, _ in model.loglikelihood(pairs):
        stat.push(logprob)
    other = RunningStat().push(0.0)
    print(repr(stat), str(other))
    return {"mean": stat.mean, "stderr": stat.stderr, "n": len(stat), "below_zero": stat < other}
