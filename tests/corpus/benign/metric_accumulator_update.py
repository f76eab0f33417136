# source: evalpod own (review F4, Nov 2026: fp2/g03, h01, h03): torchmetrics-style accumulators, the script's own classes with an `update` method
# expect: accept
import torch


class Accuracy:
    def __init__(self):
        self.correct = 0
        self.total = 0

    def update(self, preds, labels):
        self.correct += sum(int(p == t) for p, t in zip(preds, labels))
        self.total += len(labels)

    def compute(self):
        return self.correct / max(self.total, 1)


class RunningMean:
    def __init__(self):
        self.total = 0.0
        self.n = 0

    def update(self, values):
        self.total += float(values.sum())
        self.n += int(values.numel())

    def add_all(self, batches):
        for batch in batches:
            self.update(batch)

    def compute(self):
        return self.total / max(self.n, 1)


class Counted:
    def __init__(self):
        self.n = 0

    def update(self, batch):
        self.n += len(batch)

    def compute(self):
        return self.n


class Tracker:
    def __init__(self):
        self.lengths = RunningMean()

    def step(self, outputs):
        self.lengths.update(torch.tensor([float(len(o)) for o in outputs]))


def feed(acc: Accuracy, preds, labels):
    acc.update(preds, labels)


def evaluate_model(model):
    prompts = ["2 + 2 =", "The sky is"]
    outputs = model.generate(prompts, max_new_tokens=4)
    acc = Accuracy()
    preds, labels = [len(o) % 2 for o in outputs], [1, 0]
    acc.update(preds, labels)
    feed(acc, preds, labels)
    mean = RunningMean()
    mean.update(torch.tensor([1.0, 2.0]))
    mean.add_all([torch.ones(2), torch.zeros(3)])
    counts = [Counted(), Counted()]
    for batch in [["a", "b"], ["c"]]:
        for counter in counts:
            counter.update(batch)
    tracker = Tracker()
    tracker.step(outputs)
    return {
        "acc": acc.compute(),
        "mean": mean.compute(),
        "n": counts[0].compute(),
        "len": tracker.lengths.compute(),
    }
