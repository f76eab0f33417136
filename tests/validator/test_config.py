"""Tenant policy: validation of overrides, non-overridable rules, and their effect."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from validator.analysis import run_analysers
from validator.findings import Finding
from validator.policy.config import Policy, apply_policy

ENTRY = "\n\ndef evaluate_model(model):\n    return {}\n"


def test_default_is_strict() -> None:
    policy = Policy()
    assert not policy.extra_allowed_imports and not policy.severity_overrides
    assert run_analysers("import scipy" + ENTRY).blocked


def test_json_round_trip() -> None:
    raw = {
        "extra_allowed_imports": ["scipy"],
        "severity_overrides": {"EP101": "warning", "B311": "error"},
        "disabled_rules": ["EP603"],
    }
    policy = Policy.model_validate(raw)
    assert Policy.model_validate_json(policy.model_dump_json()) == policy


@pytest.mark.parametrize(
    "raw",
    [
        {"severity_overrides": {"EP301": "warning"}},  # dunder escapes are not overridable
        {"severity_overrides": {"EP201": "info"}},
        {"disabled_rules": ["EP900"]},
        {"disabled_rules": ["EP901"]},
        {"disabled_rules": ["EP999"]},
        {"extra_allowed_imports": ["os"]},
        {"extra_allowed_imports": ["subprocess.run"]},
        {"extra_allowed_imports": ["not a module"]},
        {"unknown_field": True},
    ],
)
def test_rejected_policies(raw: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Policy.model_validate(raw)


def test_extra_allowed_import() -> None:
    policy = Policy(extra_allowed_imports=frozenset({"scipy"}))
    report = run_analysers("import scipy.stats\nfrom scipy import special" + ENTRY, policy)
    assert not report.blocked and report.findings == []


def test_severity_override_unblocks() -> None:
    source = "import sklearn" + ENTRY
    policy = Policy.model_validate({"severity_overrides": {"EP101": "warning"}})
    report = run_analysers(source, policy)
    assert not report.blocked
    assert [(f.rule, f.severity) for f in report.findings] == [("EP101", "warning")]


def test_override_can_tighten_bandit() -> None:
    source = "import random\nx = random.random()" + ENTRY
    assert not run_analysers(source).blocked
    policy = Policy.model_validate({"severity_overrides": {"B311": "error"}})
    assert run_analysers(source, policy).blocked


def test_disabled_rule_drops_findings() -> None:
    policy = Policy.model_validate({"disabled_rules": ["EP401"]})
    assert run_analysers("x = open" + ENTRY).blocked
    assert not run_analysers("x = open" + ENTRY, policy).blocked


def test_overrides_do_not_touch_non_overridable_findings() -> None:
    policy = Policy.model_validate({"disabled_rules": ["EP401"]})
    report = run_analysers("f = open\neval('1')" + ENTRY, policy)
    assert {f.rule for f in report.findings if f.severity == "error"} >= {"EP201"}


def test_apply_policy() -> None:
    findings = [Finding(rule="EP101", message="m"), Finding(rule="EP603", message="m")]
    policy = Policy.model_validate(
        {"severity_overrides": {"EP101": "info"}, "disabled_rules": ["EP603"]}
    )
    assert [(f.rule, f.severity) for f in apply_policy(findings, policy)] == [("EP101", "info")]
