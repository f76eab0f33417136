"""lm-eval jobs through the harness: every shipped task on tiny-gpt2, zero and few-shot."""

from __future__ import annotations

from pathlib import Path

from .conftest import TASK_DIR, RunHarness

SHIPPED = ["evalpod_arith", "evalpod_capitals", "evalpod_sentences"]
EXPECTED = {
    "evalpod_arith": {"acc", "acc_stderr", "acc_norm", "acc_norm_stderr"},
    "evalpod_capitals": {"exact_match", "exact_match_stderr"},
    "evalpod_sentences": {"word_perplexity", "byte_perplexity", "bits_per_byte"},
}


def _lm_eval_spec(model_path: str | None, num_fewshot: int) -> dict[str, object]:
    return {
        "kind": "lm_eval",
        "model_path": model_path,
        "tasks": SHIPPED,
        "task_include_path": str(TASK_DIR),
        "num_fewshot": num_fewshot,
        "limit": 6,
    }


def test_every_shipped_task_runs_on_tiny_gpt2(
    run_harness: RunHarness, tiny_model_dir: Path
) -> None:
    run = run_harness(**_lm_eval_spec(str(tiny_model_dir), num_fewshot=0))
    assert run.returncode == 0, run.stderr[-4000:]
    assert run.result is not None and run.result["ok"] is True
    metrics = run.result["metrics"]
    assert set(metrics["tasks"]) == set(SHIPPED)
    for task, names in EXPECTED.items():
        found = metrics["tasks"][task]
        assert names <= set(found), (task, found)
        assert metrics["n_samples"][task] == 6
    arith = metrics["tasks"]["evalpod_arith"]
    assert 0.0 <= arith["acc"] <= 1.0 and arith["acc_stderr"] > 0
    assert 0.0 <= metrics["tasks"]["evalpod_capitals"]["exact_match"] <= 1.0
    assert metrics["tasks"]["evalpod_sentences"]["byte_perplexity"] > 1.0


def test_few_shot_lm_eval_runs(run_harness: RunHarness, tiny_model_dir: Path) -> None:
    run = run_harness(**_lm_eval_spec(str(tiny_model_dir), num_fewshot=2))
    assert run.returncode == 0, run.stderr[-4000:]
    assert run.result is not None and run.result["ok"] is True
    assert run.result["metrics"]["num_fewshot"] == 2
    assert set(run.result["metrics"]["tasks"]) == set(SHIPPED)


def test_unknown_task_fails_cleanly(run_harness: RunHarness, tiny_model_dir: Path) -> None:
    spec = _lm_eval_spec(str(tiny_model_dir), num_fewshot=0) | {"tasks": ["no_such_task"]}
    run = run_harness(**spec)
    assert run.returncode == 1
    assert run.result is not None and run.result["ok"] is False


def test_an_lm_eval_job_without_a_model_fails_cleanly(run_harness: RunHarness) -> None:
    run = run_harness(**_lm_eval_spec(None, num_fewshot=0))
    assert run.returncode == 1
    assert run.result is not None
    assert run.result["error"] == "ValueError: an lm_eval job needs a model"


def test_a_read_only_task_dir_without_bytecode_runs(
    run_harness: RunHarness, tiny_model_dir: Path, tmp_path: Path
) -> None:
    """A fresh clone has no __pycache__ beside the tasks' helper module, and the sandbox
    mounts the tasks read-only: importing the helper must not try to write bytecode (the
    guard used to report that mkdir as a policy violation and kill every lm-eval job)."""
    import shutil

    tasks = tmp_path / "tasks"
    shutil.copytree(TASK_DIR, tasks, ignore=shutil.ignore_patterns("__pycache__"))
    for path in [tasks, *tasks.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        spec = _lm_eval_spec(str(tiny_model_dir), num_fewshot=0)
        run = run_harness(**{**spec, "task_include_path": str(tasks), "tasks": ["evalpod_arith"],
                             "limit": 2})
        assert run.returncode == 0, run.stderr[-4000:]
        assert run.result is not None and run.result["ok"] is True, run.result
        assert not list(tasks.rglob("__pycache__"))
    finally:
        for path in [tasks, *tasks.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
