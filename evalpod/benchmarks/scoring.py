"""The trusted scoring pass: the script's predictions against the hidden column.

Runs as its own sandbox job after the untrusted run succeeded, with only the hidden
Arrow file and the predictions (extracted here from the run's size-capped JSON result)
mounted; the untrusted code is not in it. Its metrics replace the script's own.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Protocol

from evalpod.orm import Benchmark
from orchestrator.sandbox import (
    DataMount,
    LineSink,
    ResourceLimits,
    SandboxBackend,
    SandboxJob,
    SandboxOutcome,
)

SCORE_TIMEOUT_S = 300
SCORE_MEMORY_MB = 2048
PREDICTIONS = "predictions"


class HiddenVersion(Protocol):
    name: str
    split: str
    id_column: str

    @property
    def hidden_dir(self) -> Any: ...


def predictions_for(result: dict[str, Any] | None, dataset: str) -> dict[str, Any] | None:
    """`result["predictions"]`: either {row id: prediction} or {dataset: {row id: …}}."""
    found = (result or {}).get(PREDICTIONS)
    if not isinstance(found, dict):
        return None
    nested = found.get(dataset)
    if isinstance(nested, dict):
        return nested
    return found


def score_job(job: SandboxJob, benchmark: Benchmark, version: HiddenVersion,
              predictions: dict[str, Any]) -> SandboxJob:
    scorer = benchmark.scorer or {}
    return SandboxJob(
        job_id=f"{job.job_id}-score"[:64],
        kind="score",
        model_id="stub",
        mounts=[DataMount(source=version.hidden_dir, target="/data/hidden")],
        job_files={"predictions.json": json.dumps(predictions)},
        options={"metric": scorer["metric"], "column": scorer["column"],
                 "id_column": version.id_column,
                 "hidden_path": f"/data/hidden/{version.split}.arrow",
                 "predictions_path": "/job/predictions.json"},
        limits=ResourceLimits(timeout_s=SCORE_TIMEOUT_S, memory_mb=SCORE_MEMORY_MB,
                              max_result_bytes=64 * 1024),
    )


def _failed(outcome: SandboxOutcome, error: str) -> SandboxOutcome:
    return outcome.model_copy(update={"status": "failed", "error": error})


async def score_outcome(backend: SandboxBackend, job: SandboxJob, outcome: SandboxOutcome,
                        benchmark: Benchmark, versions: list[Any], on_line: LineSink,
                        cancel: asyncio.Event | None) -> SandboxOutcome:
    """The run's outcome with `result = {"metrics": scored, "script": its own output}`,
    or a failed outcome when there is nothing to score or the scorer fails."""
    scorer = benchmark.scorer or {}
    version = next((v for v in versions if v.name == scorer.get("dataset")
                    and v.hidden_dir is not None), None)
    if version is None:
        return _failed(outcome, f"benchmark scorer names dataset {scorer.get('dataset')!r} "
                                "with no hidden column")
    predictions = predictions_for(outcome.result, version.name)
    if predictions is None:
        return _failed(outcome, "the script returned no predictions to score: return "
                                "{'predictions': {row id: prediction}}")

    async def scorer_line(line: str) -> None:
        await on_line(f"[scorer] {line}")

    await on_line(f"[scorer] scoring {len(predictions)} predictions with {scorer['metric']}")
    scored = await backend.run(score_job(job, benchmark, version, predictions), scorer_line,
                               cancel)
    if scored.status != "succeeded" or scored.result is None:
        detail = scored.violation.detail if scored.violation else scored.error
        return _failed(outcome, f"the trusted scorer failed: {detail or scored.status}")
    own = {k: v for k, v in (outcome.result or {}).items() if k != PREDICTIONS}
    result = {"metrics": scored.result, "script": own, "benchmark_id": benchmark.id}
    return outcome.model_copy(update={"result": result,
                                      "duration_s": outcome.duration_s + scored.duration_s})
