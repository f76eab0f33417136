"""Class patterns over the script's own dataclass hierarchy, tuple classes and builtins."""
# source: evalpod own (attacker report #2: what class patterns still allow)
# expect: accept
from collections import namedtuple
from dataclasses import dataclass
from typing import NamedTuple

Span = namedtuple("Span", "start end")


class Choice(NamedTuple):
    text: str
    logprob: float


@dataclass
class Sample:
    prompt: str


@dataclass
class Scored(Sample):
    choices: list


def best(value):
    match value:
        case Scored(prompt=p, choices=[Choice(text=t, logprob=lp), *_]):
            return f"{p}: {t} ({lp:.2f})"
        case Sample(p):
            return p
        case Span(start=s, end=e):
            return f"{s}-{e}"
        case int(n) | float(n):
            return str(n)
        case str(s):
            return s
        case object():
            return "other"


def evaluate_model(model):
    [(logprob, _greedy)] = model.loglikelihood([("Paris is in", " France")])
    values = [Scored("capital", [Choice(" France", logprob)]), Sample("q"), Span(1, 3), 2, "x"]
    return {"described": float(len([best(v) for v in values]))}
