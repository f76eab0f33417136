# source: evalpod own (validator follow-up: a script class on a library base, nn.Module or dict or Counter, with its own update/save was refused by EP202/EP401)
# expect: accept
import collections

import torch
from torch import nn


class TokenAccuracy(nn.Module):
    """A torchmetrics-style metric: state in buffers, `update` per batch, `compute` at the end."""

    def __init__(self, ignore_index=-100):
        super().__init__()
        self.ignore_index = ignore_index
        self.register_buffer("correct", torch.zeros((), dtype=torch.long))
        self.register_buffer("total", torch.zeros((), dtype=torch.long))

    def update(self, preds, target):
        mask = target != self.ignore_index
        self.correct += (preds[mask] == target[mask]).sum()
        self.total += mask.sum()

    def compute(self):
        return (self.correct.float() / self.total.clamp(min=1)).item()

    def save(self):
        return {"correct": int(self.correct), "total": int(self.total)}


class MaskedAccuracy(TokenAccuracy):
    def reset(self):
        self.correct.zero_()
        self.total.zero_()


class LengthTally(collections.Counter):
    # Counter.__init__ calls self.update(None): the own update takes that call too.
    def update(self, outputs=None, prompts=()):
        for out, prompt in zip(outputs or (), prompts, strict=True):
            self[len(out) - len(prompt)] += 1


class Summary(dict):
    def update(self, name, value):
        self[name] = round(float(value), 4)


def evaluate_model(model):
    tok = model.tokenizer
    prompts = ["The capital of France is", "One, two, three,"]
    acc = TokenAccuracy()
    masked = MaskedAccuracy()
    for prompt in prompts:
        batch = tok([prompt], return_tensors="pt").to(model.device)
        with torch.no_grad():
            logits = model.model(**batch).logits
        preds = logits[:, :-1].argmax(-1)
        target = batch["input_ids"][:, 1:]
        acc.update(preds, target)
        masked.update(preds, target)
    masked.reset()
    outputs = model.generate(prompts, max_new_tokens=4)
    tally = LengthTally()
    tally.update(outputs, prompts)
    summary = Summary()
    summary.update("token_accuracy", acc.compute())
    summary.update("distinct_lengths", len(tally))
    summary.update("tokens_seen", acc.save()["total"])
    return summary
