"""Every shipped example script runs on tiny-gpt2 through the real harness."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from .conftest import EXAMPLES, HarnessRun, RunHarness, run_harness_many


def _finite_number(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _check_perplexity(metrics: dict[str, object]) -> None:
    assert 1.0 < float(metrics["mean_perplexity"]) < 10_000  # type: ignore[arg-type]
    assert 0.0 <= float(metrics["fluent_preferred_rate"]) <= 1.0  # type: ignore[arg-type]


def _check_qa(metrics: dict[str, object]) -> None:
    assert 0.0 <= float(metrics["exact_match"]) <= 1.0  # type: ignore[arg-type]
    assert 0.0 <= float(metrics["f1"]) <= 1.0  # type: ignore[arg-type]


def _check_multiple_choice(metrics: dict[str, object]) -> None:
    assert 0.0 <= float(metrics["accuracy"]) <= 1.0  # type: ignore[arg-type]
    assert 0.0 <= float(metrics["accuracy_norm"]) <= 1.0  # type: ignore[arg-type]


def _check_calibration(metrics: dict[str, object]) -> None:
    assert 0.0 <= float(metrics["ece"]) <= 1.0  # type: ignore[arg-type]
    assert 0.0 <= float(metrics["brier"]) <= 1.0  # type: ignore[arg-type]


CHECKS = {
    "perplexity": _check_perplexity,
    "qa_exact_match": _check_qa,
    "multiple_choice": _check_multiple_choice,
    "calibration": _check_calibration,
}


def test_every_example_is_covered() -> None:
    assert {p.stem for p in EXAMPLES.glob("*.py")} == set(CHECKS)


@pytest.fixture(scope="module")
def example_runs(
    tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, HarnessRun]:
    """All examples on tiny-gpt2, started together: each run is mostly importing torch."""
    names = sorted(CHECKS)
    spec = {"model_path": str(tiny_model_dir), "model_id": "tiny-gpt2"}
    jobs = [
        (tmp_path_factory.mktemp(name), (EXAMPLES / f"{name}.py").read_text(), spec)
        for name in names
    ]
    return dict(zip(names, run_harness_many(jobs), strict=True))


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_example_succeeds_with_sane_metrics(name: str, example_runs: dict[str, HarnessRun]) -> None:
    run = example_runs[name]
    assert run.returncode == 0, run.stderr
    assert run.result is not None and run.result["ok"] is True
    metrics = run.result["metrics"]
    assert metrics["n"] > 0
    assert all(_finite_number(v) for v in metrics.values())
    CHECKS[name](metrics)
    assert "[1/" in run.stdout  # progress lines are the job's live log


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_example_runs_on_the_stub(name: str, run_harness: RunHarness) -> None:
    run = run_harness((EXAMPLES / f"{name}.py").read_text(), model_path=None)
    assert run.returncode == 0, run.stderr
    assert run.result is not None and run.result["ok"] is True
