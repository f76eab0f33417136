"""What a benchmark run reports: scored metrics, lm-eval tasks, or the benchmark script's own."""

from __future__ import annotations

from evalpod.benchmarks.service import benchmark_metrics
from evalpod.orm import Evaluation


def _run(result: dict[str, object], kind: str = "script") -> Evaluation:
    return Evaluation(id="ev_x", kind=kind, result=result, benchmark_id="bm_1")


def test_scored_runs_report_the_scorer_not_the_script() -> None:
    run = _run({"metrics": {"f1": 0.5, "f1_stderr": 0.1, "rows": 10},
                "script": {"f1": 1.0}, "benchmark_id": "bm_1"})
    assert benchmark_metrics(run) == {"f1": 0.5, "f1_stderr": 0.1, "rows": 10.0}


def test_lm_eval_runs_report_task_metrics_and_bare_names_for_one_task() -> None:
    one = _run({"tasks": {"arith": {"acc": 0.4, "acc_stderr": 0.05}}}, kind="lm_eval")
    assert benchmark_metrics(one) == {"arith/acc": 0.4, "arith/acc_stderr": 0.05, "acc": 0.4,
                                      "acc_stderr": 0.05}
    two = _run({"tasks": {"a": {"acc": 0.1}, "b": {"acc": 0.9}}}, kind="lm_eval")
    assert benchmark_metrics(two) == {"a/acc": 0.1, "b/acc": 0.9}


def test_unscored_script_benchmarks_report_their_numbers_only() -> None:
    run = _run({"accuracy": 0.7, "note": "x", "flag": True, "nan": float("nan")})
    assert benchmark_metrics(run) == {"accuracy": 0.7}
