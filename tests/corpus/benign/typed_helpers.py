# source: evalpod own (corpus before #11)
# expect: accept
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Protocol


class Scorer(Protocol):
    def __call__(self, prediction: str, reference: str) -> float: ...


class Example(NamedTuple):
    prompt: str
    reference: str


@dataclass
class Tally:
    total: float = 0.0
    count: int = 0
    per_item: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.total += value
        self.count += 1
        self.per_item.append(value)

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0


def contains(prediction: str, reference: str) -> float:
    return float(reference.lower() in prediction.lower())


EXAMPLES = [Example("Name a primary colour:", "red"), Example("Name a fruit:", "apple")]


def evaluate_model(model) -> dict[str, float]:
    scorer: Scorer = contains
    tally = Tally()
    outs = model.generate([e.prompt for e in EXAMPLES], max_new_tokens=6)
    for example, out in zip(EXAMPLES, outs):
        tally.add(scorer(out, example.reference))
    return {"contains": tally.mean}
