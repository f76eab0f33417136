"""The script corpora under tests/corpus: each case's source, expectation and direction.

Every case opens with comment headers:

    # source: where the case comes from (a write-up, a test suite, a library, "evalpod own")
    # expect: EP301             refused, by this rule (bandit ids B### too)
    # expect: accept [R ...]    cleared; R are the only non-blocking findings allowed
    # expect: guard R           cleared by static analysis with the warning R; the runtime
                                guard must stop it when it runs

A corpus directory holds cases of one direction (`CORPORA`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

ROOT: Final = Path(__file__).resolve().parent.parent / "corpus"
Direction = Literal["reject", "accept", "guard"]
CORPORA: Final[dict[str, Direction]] = {
    "evasion": "reject",  # escapes and gadgets, one per class (ours)
    "jails": "reject",  # Python-jail write-ups, RestrictedPython/AccessControl, pysandbox
    "bandit": "reject",  # PyCQA/bandit example patterns
    "guarded": "guard",  # hostile, statically unprovable: left to the runtime guard
    "benign": "accept",  # idiomatic evaluation scripts (ours, and the #11 false positives)
    "metrics": "accept",  # lm-evaluation-harness and HF evaluate metrics as scripts
}
_SOURCE = re.compile(r"^# source: (.+)$", re.MULTILINE)
_EXPECT = re.compile(r"^# expect: (.+)$", re.MULTILINE)
_RULE = re.compile(r"^(?:EP\d{3}|B\d{3})$")


@dataclass(frozen=True)
class Case:
    corpus: str
    path: Path
    source: str
    direction: Direction
    rules: frozenset[str]  # reject: the rule; accept: allowed warnings; guard: the warning

    @property
    def name(self) -> str:
        return f"{self.corpus}/{self.path.stem}"

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")


def load_case(corpus: str, path: Path) -> Case:
    """Parse one case's headers; ValueError says what is missing or malformed."""
    text = path.read_text(encoding="utf-8")
    source, expect = _SOURCE.search(text), _EXPECT.search(text)
    if source is None or expect is None:
        raise ValueError(f"{path}: needs '# source:' and '# expect:' headers")
    words = expect.group(1).split()
    direction: Direction = "reject"
    if words[0] in ("accept", "guard"):
        direction = "accept" if words[0] == "accept" else "guard"
        words = words[1:]
    rules = frozenset(words)
    if not all(_RULE.match(rule) for rule in rules) or (direction != "accept" and len(rules) != 1):
        raise ValueError(f"{path}: malformed '# expect: {expect.group(1)}'")
    if direction != CORPORA[corpus]:
        raise ValueError(f"{path}: a {direction} case in the {CORPORA[corpus]} corpus {corpus}")
    return Case(corpus, path, source.group(1).strip(), direction, rules)


def load_corpora() -> list[Case]:
    return [load_case(corpus, path) for corpus in CORPORA
            for path in sorted((ROOT / corpus).glob("*.py"))]
