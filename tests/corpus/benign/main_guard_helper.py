# source: evalpod own (corpus before #11)
# expect: accept B101
"""A helper class and a __main__ guard for local runs."""
import statistics


class RunningMean:
    def __init__(self):
        self.values = []

    def __len__(self):
        return len(self.values)

    def __repr__(self):
        return f"{type(self).__name__}(n={len(self)})"

    def add(self, value):
        self.values.append(value)

    def mean(self):
        return statistics.fmean(self.values) if self.values else 0.0


def evaluate_model(model):
    meter = RunningMean()
    for out in model.generate(["a", "b", "c"], max_new_tokens=3):
        meter.add(len(out))
    assert len(meter) == 3
    print(meter)
    return {"mean_chars": meter.mean()}


if __name__ == "__main__":
    print("run me through evalpod")
