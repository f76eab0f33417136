"""The installed lm-eval tasks (shipped + operator dirs), read from YAML, no lm-eval import."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from evalpod.settings import Settings
from sandbox_images.lm_eval_registry import TaskInfo, list_tasks
from validator.findings import Finding

SHIPPED_TASKS_DIR = Path(__file__).resolve().parent.parent / "sandbox_images" / "lm_eval_tasks"


def task_dirs(settings: Settings) -> list[Path]:
    dirs = [SHIPPED_TASKS_DIR]
    if settings.lm_eval_tasks_dir is not None:
        dirs.append(settings.lm_eval_tasks_dir)
    return [d for d in dirs if d.is_dir()]


@lru_cache(maxsize=8)
def _cached(dirs: tuple[Path, ...]) -> tuple[TaskInfo, ...]:
    return tuple(list_tasks(list(dirs)))


def available_tasks(settings: Settings) -> list[TaskInfo]:
    return list(_cached(tuple(task_dirs(settings))))


def check_lm_eval_request(
    tasks: list[str], num_fewshot: int, limit: int | None, settings: Settings
) -> list[Finding]:
    """Config checks that replace static analysis for lm-eval jobs."""
    known = {task.name for task in available_tasks(settings)}
    findings = [
        Finding(rule="LMEVAL-TASK", message=f"unknown lm-eval task {name!r}",
                hint="List installed tasks with GET /api/v1/lm-eval/tasks.")
        for name in tasks if name not in known
    ]
    if len(set(tasks)) != len(tasks):
        findings.append(Finding(rule="LMEVAL-DUP", message="a task is listed twice"))
    if num_fewshot < 0 or (limit is not None and limit < 1):
        findings.append(Finding(rule="LMEVAL-CONFIG", message="num_fewshot/limit out of range"))
    return findings
