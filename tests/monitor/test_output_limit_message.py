"""A job stopped for its output is told which output limit it passed and that limit's value
for the job (as configured in its `ResourceLimits`, not a constant), in the violation's
detail and so in the trial finding's message; the finding's hint says what to change."""

from __future__ import annotations

import asyncio
from pathlib import Path

from evalpod.settings import Settings
from orchestrator.local.backend import LocalBackend
from tests.sandbox_conformance.checks import job, run
from validator.trial import TrialReport, trial_findings

FLOOD_BYTES = """
def evaluate_model(model):
    for _ in range(10_000):
        print("y" * 1000)
    return {}
"""
FLOOD_LINES = """
def evaluate_model(model):
    while True:
        print("z")
"""


async def test_each_output_limit_is_named_with_its_configured_value(tmp_path: Path) -> None:
    backend = LocalBackend(Settings(home=tmp_path))
    cases = [
        (FLOOD_BYTES, {"max_output_bytes": 3 * 1024 * 1024 // 2},
         "more than 1572864 bytes of output (1.5 MiB), the limit on a run's stdout and "
         "stderr together"),
        (FLOOD_LINES, {"max_output_lines_per_s": 700},
         "more than 700 output lines per second, the limit on a run's sustained output rate"),
    ]
    for script, limits, detail in cases:
        outcome, _ = await asyncio.wait_for(run(backend, job(script, **limits)), 60)
        assert outcome.status == "killed", outcome
        assert outcome.violation is not None
        assert outcome.violation.kind == "output"
        assert outcome.violation.detail == detail

        report = TrialReport(passed=False, status="killed", duration_s=1.0,
                             violation=outcome.violation.model_dump(mode="json"))
        (finding,) = trial_findings(report)
        assert finding.rule == "TRIAL-OUTPUT"
        assert finding.message == f"the trial run was killed: {detail}"
        assert finding.hint is not None and finding.hint.startswith("Print less")
        assert "see the validation log" not in finding.hint
