# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept
from __future__ import annotations

import copy
import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


class Budget:
    def __init__(self, limit: int) -> None:
        self._limit = limit
        self.used = 0

    @property
    def limit(self) -> int:
        return self._limit

    @limit.setter
    def limit(self, value: int) -> None:
        if value < self.used:
            raise ValueError("limit below what is already used")
        self._limit = value

    @functools.cached_property
    def label(self) -> str:
        return f"budget<{self._limit}>"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Budget:
        return cls(**data)

    def __contains__(self, n: int) -> bool:
        return self.used + n <= self._limit

    def __call__(self, n: int) -> bool:
        if n in self:
            self.used += n
            return True
        return False

    def __iter__(self):
        yield from range(self.used)

    def __hash__(self) -> int:
        return hash((self._limit, self.used))


def count_tokens(tokenizer: PreTrainedTokenizerBase, text: str) -> int:
    return len(tokenizer(text)["input_ids"])


def evaluate_model(model):
    budget = Budget.from_dict({"limit": 64})
    spent = []
    for text in ["short", "a slightly longer sentence", "x " * 40]:
        n = count_tokens(model.tokenizer, text)
        spent.append(budget(n))
    clone = copy.deepcopy(budget)
    budget.limit = 100
    counter = 0

    def bump():
        nonlocal counter
        counter += 1
        return counter

    bump()
    return {"spent": spent, "used": budget.used, "label": clone.label, "limit": budget.limit,
            "iterated": len(list(budget)), "counter": bump()}
