"""A runtime guard denial in the trial run is a `TRIAL-POLICY` finding naming the event,
what was asked for, and the script line (the real trial code on the real sandbox)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalpod.settings import get_settings
from orchestrator.sandbox import get_backend
from validator.trial import run_trial, trial_findings

# Reads a file outside the model/data/work dirs, catches the refusal, returns metrics.
HIDES_A_READ = '''
def evaluate_model(model):
    try:
        secret = open("/etc/passwd").read()
    except PermissionError:
        secret = ""
    return {"n": len(secret)}
'''


async def test_guard_denial_is_a_trial_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALPOD_HOME", str(tmp_path))
    get_settings.cache_clear()
    try:
        settings = get_settings()
        report = await run_trial(get_backend("local"), "guard-trial", HIDES_A_READ, settings)
    finally:
        get_settings.cache_clear()
    assert report.passed is False and report.status == "killed"
    assert report.violation == {"kind": "policy", "detail": "open denied", "line": 4,
                                "target": "/etc/passwd"}
    [finding] = trial_findings(report)
    assert finding.rule == "TRIAL-POLICY"
    assert finding.line == 4
    assert "open denied (/etc/passwd) at line 4" in finding.message
    assert "runtime guard" in report.log
