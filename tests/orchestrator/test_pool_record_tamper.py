"""The reported forged-success chain (attack2 F1, tests/escape/tamper_scripts) through a
warm sandbox: a pooled job's record and result fds are as out of reach as a cold one's."""

from __future__ import annotations

from pathlib import Path

from orchestrator.local.backend import LocalBackend
from tests.orchestrator.test_pool import make_job, pool_of, pooled, run_drawn

__all__ = ["pooled"]  # the fixture, imported for pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "escape" / "tamper_scripts"


async def test_a_pooled_job_cannot_forge_success_after_a_denial(pooled: LocalBackend) -> None:
    job = make_job("pool-tamper", (SCRIPTS / "forged_success_chain.py").read_text())
    assert await pool_of(pooled).prime(job) == 1
    outcome, _ = await run_drawn(pooled, job)
    assert outcome.status == "killed", outcome
    assert outcome.violation is not None and outcome.violation.kind == "policy"
    assert (outcome.violation.detail, outcome.violation.target) == ("open denied", "/job/spec.json")


async def test_a_pooled_job_that_adds_to_its_record_is_killed(pooled: LocalBackend) -> None:
    job = make_job("pool-append", (SCRIPTS / "append_to_record.py").read_text())
    assert await pool_of(pooled).prime(job) == 1
    outcome, _ = await run_drawn(pooled, job)
    assert outcome.status == "killed", outcome
    assert outcome.violation is not None and outcome.violation.kind == "policy"
