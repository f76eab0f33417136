"""Run lm-eval tasks offline against the job's model and flatten the metrics."""

from __future__ import annotations

import math
from typing import Any

from lm_eval import evaluator, simple_evaluate
from lm_eval.tasks import TaskManager
from model_handle import ModelHandle

BOOTSTRAP_ITERS = 1000
BATCH_SIZE = 8
STDERR_SUFFIX = "_stderr"


def _json_number(value: Any) -> Any:
    """lm-eval writes "N/A" for missing stderr and may produce NaN/inf: both become null."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    return None


def _flatten_task(raw: dict[str, Any]) -> dict[str, Any]:
    """{"acc,none": .., "acc_stderr,none": ..} → {"acc": .., "acc_stderr": ..}.

    The filter name is kept only when it is not lm-eval's default `none`.
    """
    flat: dict[str, Any] = {}
    for key, value in raw.items():
        if "," not in key:
            continue
        metric, filter_name = key.split(",", 1)
        name = metric if filter_name == "none" else f"{metric},{filter_name}"
        flat[name] = _json_number(value)
    return flat


def load_lm(spec: dict[str, Any]) -> Any:
    """lm-eval's own HFLM around the job's model, loaded by ModelHandle (safetensors only,
    no remote code): the numbers are those `lm_eval --model hf` gives on the same model.

    Called before the runtime guard is armed: loading imports parts of torch lazily.
    Raises ValueError when the spec names no model.
    """
    if spec.get("model_path") is None:
        raise ValueError("an lm_eval job needs a model")
    handle = ModelHandle.load(spec["model_path"], device=spec.get("device", "cpu"),
                              seed=int(spec.get("seed", 1234)))
    handle.lm.batch_size_per_gpu = BATCH_SIZE
    return handle.lm


def _task_manager(include_path: str | list[str] | None) -> TaskManager:
    if include_path:
        # Indexing lm-eval's thousands of bundled YAML files costs seconds and brings tasks
        # that need the network; operators' task directories are the whole registry.
        return TaskManager(include_path=include_path, include_defaults=False)
    return TaskManager()


def _skip_environment_report() -> None:
    # lm-eval records git hashes and torch's collect_env by spawning git, pip and
    # nvidia-smi: seconds of noise in the job log for fields evalpod drops anyway.
    evaluator.get_git_commit_hash = lambda: None
    evaluator.add_env_info = lambda storage: None


def run_lm_eval(spec: dict[str, Any], lm: Any = None) -> dict[str, Any]:
    """Evaluate `spec["tasks"]` on `lm` (from `load_lm`; loaded here when None) and return
    per-task metrics (with `<metric>_stderr`)."""
    _skip_environment_report()
    tasks = list(spec.get("tasks") or [])
    if not tasks:
        raise ValueError("an lm_eval job needs at least one task")
    seed = int(spec.get("seed", 1234))
    results = simple_evaluate(
        model=lm if lm is not None else load_lm(spec),
        tasks=tasks,
        num_fewshot=int(spec.get("num_fewshot", 0)),
        limit=spec.get("limit"),
        task_manager=_task_manager(spec.get("task_include_path")),
        bootstrap_iters=BOOTSTRAP_ITERS,
        log_samples=False,
        random_seed=seed,
        numpy_random_seed=seed,
        torch_random_seed=seed,
        fewshot_random_seed=seed,
    )
    if results is None:
        raise RuntimeError("lm-eval returned no results")
    return {
        "tasks": {name: _flatten_task(raw) for name, raw in results["results"].items()},
        "n_samples": {
            name: counts.get("effective") for name, counts in results.get("n-samples", {}).items()
        },
        "versions": {name: str(v) for name, v in results.get("versions", {}).items()},
        "num_fewshot": int(spec.get("num_fewshot", 0)),
        "limit": spec.get("limit"),
    }
