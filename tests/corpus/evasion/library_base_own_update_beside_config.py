# source: evalpod own (validator follow-up: a metric's own update on nn.Module does not open .update on the model's config)
# expect: EP202
import torch
from torch import nn


class Acc(nn.Module):
    def update(self, preds, target):
        self.n = int((preds == target).sum())


def evaluate_model(model):
    acc = Acc()
    acc.update(torch.ones(2), torch.ones(2))
    key = "".join(chr(c) for c in (116, 111, 114, 99, 104, 95, 100, 116, 121, 112, 101))
    for metric in [acc, model.config]:
        metric.update({key: "float64"})
    return {"n": float(acc.n)}
