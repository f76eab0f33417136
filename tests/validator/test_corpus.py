"""Every corpus case gets the outcome its header states: refused by its rule, cleared with
only its listed warnings, or (guard cases) cleared with the warning the runtime guard backs."""

from __future__ import annotations

import pytest

from tests.validator.corpus import CORPORA, Case, load_corpora
from validator.analysis import StaticReport, analyse_script
from validator.findings import blocking

CASES = load_corpora()
FAILURES = {"EP900", "EP901", "EP902"}


def _analyse(case: Case) -> StaticReport:
    return analyse_script(case.text(), budget_s=30.0)


def test_corpus_sizes() -> None:
    sizes = {corpus: sum(c.corpus == corpus for c in CASES) for corpus in CORPORA}
    assert sizes["evasion"] >= 60 and sizes["benign"] >= 30, sizes
    assert min(sizes[c] for c in ("jails", "bandit", "metrics", "guarded")) >= 1, sizes


def test_every_case_states_its_source() -> None:
    assert all(case.source for case in CASES)


@pytest.mark.parametrize("case", [c for c in CASES if c.direction == "reject"],
                         ids=lambda c: c.name)
def test_hostile_case_is_refused_by_its_rule(case: Case) -> None:
    report = _analyse(case)
    caught = {f.rule for f in blocking(report.findings)}
    assert report.blocked
    assert case.rules <= caught, f"{case.name}: expected {set(case.rules)}, got {caught}"
    assert not caught & FAILURES, "caught by an analyser failure, not by a rule"


@pytest.mark.parametrize("case", [c for c in CASES if c.direction == "accept"],
                         ids=lambda c: c.name)
def test_benign_case_is_accepted(case: Case) -> None:
    report = _analyse(case)
    assert not report.blocked, [f.model_dump() for f in report.findings]
    assert {f.rule for f in report.findings} == case.rules


@pytest.mark.parametrize("case", [c for c in CASES if c.direction == "guard"],
                         ids=lambda c: c.name)
def test_guard_case_is_left_to_the_guard_with_a_warning(case: Case) -> None:
    report = _analyse(case)
    assert not report.blocked, [f.model_dump() for f in report.findings]
    warned = {f.rule for f in report.findings if f.severity == "warning"}
    assert case.rules <= warned, warned
