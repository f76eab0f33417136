"""Static analysis fails closed: crashes, recursion, parser errors and overruns all block."""

from __future__ import annotations

import ast
import os
import signal
from concurrent.futures import ThreadPoolExecutor

import pytest

from validator import analysis
from validator.analysis import analyse_script, run_analysers
from validator.findings import Finding
from validator.policy.config import Policy

OK = "import torch\n\n\ndef evaluate_model(model):\n    return {'accuracy': 1.0}\n"
DEEP = "x = " + "1 + " * 1000 + "1\n" + OK  # parses, but bandit's recursive visitor gives up
TOO_DEEP = "x = " + "1 + " * 200_000 + "1\n" + OK  # the parser itself gives up
# Each alias is bound to the next one, so resolving the first follows all of them.
LONG_ALIAS_CHAIN = OK + "".join(f"a{i} = a{i + 1}\n" for i in range(500)) + "a500 = eval\n"
HUGE = OK + "".join(
    f"\ndef helper_{i}(values):\n    return [v * {i} for v in values if v % 3]\n"
    for i in range(15_000)
)


def _rules(report: analysis.StaticReport) -> set[str]:
    return {f.rule for f in report.findings}


def test_clean_script_passes_with_timings() -> None:
    report = analyse_script(OK)
    assert not report.blocked and report.findings == []
    assert set(report.analysers) == {"parse", "ast_screen", "policy", "bandit"}
    assert report.duration_ms > 0


def test_syntax_error_blocks() -> None:
    report = analyse_script("def evaluate_model(model:\n")
    assert report.blocked and _rules(report) == {"EP001"}
    assert report.findings[0].line == 1


def test_deep_expression_is_analysed_and_still_blocked() -> None:
    report = run_analysers(DEEP)
    assert report.blocked
    assert "EP902" in _rules(report)  # bandit skipped it
    assert "EP900" not in _rules(report)  # the policy engine does not recurse on the AST


@pytest.mark.parametrize("error", [RecursionError("maximum recursion depth exceeded"),
                                   ValueError("the analyser could not parse this")])
def test_analyser_exception_blocks(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    def broken(source: str, tree: ast.Module, policy: Policy) -> list[Finding]:
        raise error

    monkeypatch.setattr(analysis, "ANALYSERS", (("policy", broken),))
    report = run_analysers(OK)
    assert report.blocked
    [finding] = report.findings
    assert finding.rule == "EP900" and type(error).__name__ in finding.message
    assert str(error) in finding.message


def test_alias_chain_beyond_the_resolver_blocks() -> None:
    report = run_analysers(LONG_ALIAS_CHAIN)
    failures = [f for f in report.findings if f.rule == "EP900"]
    assert report.blocked and any("`policy`" in f.message for f in failures)


def test_recursion_limits_block_through_the_worker() -> None:
    assert _rules(analyse_script(DEEP, budget_s=30)) >= {"EP902"}
    assert "EP900" in _rules(analyse_script(LONG_ALIAS_CHAIN, budget_s=30))
    too_deep = analyse_script(TOO_DEEP, budget_s=30)
    assert too_deep.blocked and _rules(too_deep) == {"EP001"}


def test_budget_overrun_blocks_and_worker_is_replaced() -> None:
    report = analyse_script(HUGE, budget_s=0.2)
    assert report.blocked and _rules(report) == {"EP901"}
    assert report.duration_ms < 5_000  # the caller is released at the deadline, not at the end
    assert not analyse_script(OK).blocked


def test_dead_worker_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    worker = analysis._Worker()
    os.kill(worker._process.pid, signal.SIGKILL)
    worker._process.wait()
    monkeypatch.setattr(analysis._pool, "acquire", lambda: worker)
    report = analyse_script(OK)
    assert report.blocked and _rules(report) == {"EP900"}
    assert "died" in report.findings[0].message


def test_worker_that_cannot_start_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_worker() -> analysis._Worker:
        raise RuntimeError("fork failed")

    monkeypatch.setattr(analysis._pool, "acquire", no_worker)
    report = analyse_script(OK)
    assert report.blocked and _rules(report) == {"EP900"}


def test_policy_travels_to_the_worker() -> None:
    source = "import scipy\n" + OK
    assert analyse_script(source).blocked
    policy = Policy.model_validate({"extra_allowed_imports": ["scipy"]})
    assert not analyse_script(source, policy).blocked


def test_concurrent_callers_get_their_own_reports() -> None:
    sources = [OK, "import os\n" + OK, OK, "eval('1')\n" + OK]
    with ThreadPoolExecutor(4) as pool:
        reports = list(pool.map(analyse_script, sources))
    assert [r.blocked for r in reports] == [False, True, False, True]
    assert _rules(reports[1]) >= {"EP102"} and _rules(reports[3]) >= {"EP201"}


def test_findings_are_deduplicated_and_sorted() -> None:
    report = run_analysers("import os\nx = eval('1')\n" + OK)
    keys = [(f.rule, f.line, f.column) for f in report.findings]
    assert len(keys) == len(set(keys))
    assert [f.line or 0 for f in report.findings] == sorted(f.line or 0 for f in report.findings)


def test_garbled_worker_reply_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    worker = analysis._pool.acquire()
    monkeypatch.setattr(worker, "_read_line", lambda deadline: b"not a report")
    monkeypatch.setattr(analysis._pool, "acquire", lambda: worker)
    report = analyse_script(OK)
    assert report.blocked and _rules(report) == {"EP900"}
    assert not worker.alive()


def test_one_construct_is_one_finding() -> None:
    """`import os` was reported twice (the screen at the statement, the policy engine at
    the alias); the same rule and message on one line is one finding, the first column."""
    report = analyse_script("import os\n\ndef evaluate_model(model):\n    return {}\n", Policy())
    denied = [f for f in report.findings if f.rule == "EP102"]
    assert [(f.line, f.column) for f in denied] == [(1, 1)]
