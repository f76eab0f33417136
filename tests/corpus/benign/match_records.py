"""Structural pattern matching over the script's own records."""
# source: evalpod own (class patterns on ordinary attributes, both keyword and positional)
# expect: accept
from collections import namedtuple
from dataclasses import dataclass
from typing import NamedTuple

Pair = namedtuple("Pair", ["context", "continuation"])


class Scored(NamedTuple):
    logprob: float
    greedy: bool


@dataclass
class Item:
    question: str
    answer: str


class Point:
    __match_args__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y


def describe(value):
    match value:
        case Item(question, answer=""):
            return f"unanswered: {question}"
        case Item(question=q, answer=a):
            return f"{q} -> {a}"
        case Pair(context, continuation):
            return context + continuation
        case Point(0, y):
            return f"on the y axis at {y}"
        case Scored(logprob=lp, greedy=True):
            return f"greedy {lp:.2f}"
        case {"kind": kind, **rest}:
            return f"{kind} with {len(rest)} fields"
        case [first, *others]:
            return f"{first} and {len(others)} more"
        case str() | int():
            return str(value)
    return "other"


def evaluate_model(model):
    [(logprob, greedy)] = model.loglikelihood([("Paris is in", " France")])
    values = [Item("2 + 2?", "4"), Item("Why?", ""), Pair("a", "b"), Point(0, 3),
              Scored(logprob, greedy), {"kind": "x", "n": 1}, [1, 2, 3], "text"]
    return {"described": len([describe(v) for v in values])}
