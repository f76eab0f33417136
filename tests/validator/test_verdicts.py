"""Identical scripts reuse their static verdict (real Redis); a policy change invalidates it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from evalpod.db import Database
from evalpod.settings import Settings
from evalpod.workers import WorkerState
from validator import analysis, verdicts
from validator.policy.config import Policy
from validator.verdicts import static_verdict
from validator.worker import ValidationInput, validate

CLEAN = "import math\n\n\ndef evaluate_model(model):\n    return {'pi': math.pi}\n"
NOT_ALLOWED = "import csv\n\n\ndef evaluate_model(model):\n    return {'n': csv.QUOTE_ALL}\n"
FORBIDDEN = "import os\n\n\ndef evaluate_model(model):\n    return {'cwd': os.getcwd()}\n"


@pytest.fixture
def analyses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The scripts really analysed (a spy around the real analyser)."""
    seen: list[str] = []
    real = verdicts.analyse_script

    def spy(source: str, policy: Policy | None = None, budget_s: float = 5.0
            ) -> analysis.StaticReport:
        seen.append(source)
        return real(source, policy, budget_s)

    monkeypatch.setattr(verdicts, "analyse_script", spy)
    return seen


def _unique(script: str) -> str:
    return f"# {uuid.uuid4().hex}\n{script}"


async def test_second_identical_script_reuses_the_verdict(redis_client: Any,
                                                          analyses: list[str]) -> None:
    script = _unique(FORBIDDEN)
    first = await static_verdict(redis_client, "t-a", script, Policy())
    second = await static_verdict(redis_client, "t-a", script, Policy())
    assert not first.reused and second.reused
    assert second.report.findings == first.report.findings and second.report.blocked
    assert analyses == [script]


async def test_policy_change_invalidates(redis_client: Any, analyses: list[str]) -> None:
    script = _unique(NOT_ALLOWED)
    strict = await static_verdict(redis_client, "t-b", script, Policy())
    relaxed_policy = Policy(extra_allowed_imports=frozenset({"csv", "pandas", "xml"}))
    relaxed = await static_verdict(redis_client, "t-b", script, relaxed_policy)
    assert strict.report.blocked and not relaxed.reused
    assert not relaxed.report.blocked
    assert analyses == [script, script]
    # Equal policies are one version whatever the order their sets were written in.
    again = Policy(extra_allowed_imports=frozenset(["xml", "pandas", "csv"]))
    assert (await static_verdict(redis_client, "t-b", script, again)).reused


async def test_other_tenant_and_changed_text_are_analysed(redis_client: Any,
                                                          analyses: list[str]) -> None:
    script = _unique(CLEAN)
    await static_verdict(redis_client, "t-c", script, Policy())
    assert not (await static_verdict(redis_client, "t-d", script, Policy())).reused
    assert not (await static_verdict(redis_client, "t-c", script + "\n", Policy())).reused
    assert len(analyses) == 3


async def test_analyser_failure_is_never_reused(redis_client: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    real = analysis.analyse_script

    def overrun(source: str, policy: Policy | None = None, budget_s: float = 5.0
                ) -> analysis.StaticReport:
        return real(source, policy, budget_s=0.0)  # no time at all: EP901, fail closed

    monkeypatch.setattr(verdicts, "analyse_script", overrun)
    script = _unique(CLEAN)
    first = await static_verdict(redis_client, "t-e", script, Policy())
    assert {f.rule for f in first.report.findings} & verdicts.UNSTABLE_RULES
    assert not (await static_verdict(redis_client, "t-e", script, Policy())).reused


async def test_corrupt_entry_means_analyse_again(redis_client: Any) -> None:
    script = _unique(FORBIDDEN)
    await redis_client.set(verdicts.verdict_key("t-f", script, Policy()), b"{not json")
    verdict = await static_verdict(redis_client, "t-f", script, Policy())
    assert not verdict.reused and verdict.report.blocked


async def test_validator_records_the_reuse(redis_client: Any, pg_dsn: str) -> None:
    """Through the validator's own `validate`: the second submission of a script (here a
    blocked one, so no trial runs) says in its report that its static verdict was reused."""
    database = Database(pg_dsn)
    state = WorkerState(role="validator", worker_id="w-verdicts", settings=Settings(),
                        db=database, redis=redis_client, cancels=None,  # type: ignore[arg-type]
                        gpus=None)  # type: ignore[arg-type]
    script = _unique(FORBIDDEN)
    reports = []
    try:
        for model_id in ("model-a", "model-b"):
            job = ValidationInput(evaluation_id=f"ev-{uuid.uuid4().hex}", kind="script",
                                  model_id=model_id, script=script, tasks=[], num_fewshot=0,
                                  limit=None, priority=0, policy=None, tenant_id="t-g")
            reports.append(await validate(state, None, job))  # type: ignore[arg-type]
    finally:
        await database.dispose()
    assert [r.static_reused for r in reports] == [False, True]
    assert not reports[1].passed and reports[1].findings == reports[0].findings
    assert reports[1].model_dump(mode="json")["static_reused"] is True
