# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept
from __future__ import annotations

from typing import Callable, Generic, Iterable, NamedTuple, Optional, Protocol, TypedDict, TypeVar

T = TypeVar("T")


class Scorer(Protocol):
    def __call__(self, prediction: str, reference: str) -> float: ...


class Example(NamedTuple):
    prompt: str
    reference: str


class Result(TypedDict):
    score: float
    n: int


class Accumulator(Generic[T]):
    def __init__(self) -> None:
        self.items: list[T] = []

    def add(self, item: T) -> None:
        self.items.append(item)

    def __len__(self) -> int:
        return len(self.items)


def exact(prediction: str, reference: str) -> float:
    return float(prediction.strip() == reference.strip())


def run(examples: Iterable[Example], outputs: list[str], scorer: Scorer) -> Result:
    acc: Accumulator[float] = Accumulator()
    for example, output in zip(examples, outputs):
        acc.add(scorer(output, example.reference))
    return {"score": sum(acc.items) / max(len(acc), 1), "n": len(acc)}


def first(xs: list[T], default: Optional[T] = None) -> Optional[T]:
    return xs[0] if xs else default


def evaluate_model(model) -> dict:
    examples = [Example("1, 2, 3,", " 4"), Example("a, b, c,", " d")]
    outputs = model.generate([e.prompt for e in examples], max_new_tokens=2)
    check: Callable[[str, str], float] = exact
    result = run(examples, outputs, check)
    return {"score": result["score"], "n": result["n"], "first": first(outputs, "")}
