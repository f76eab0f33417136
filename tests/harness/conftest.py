"""Fixtures for harness tests: the tiny model built once, and a real harness subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
HARNESS = REPO / "sandbox_images" / "harness" / "run.py"
TASK_DIR = REPO / "sandbox_images" / "lm_eval_tasks"
EXAMPLES = REPO / "examples"
HARNESS_TIMEOUT_S = 120
# One intra-op thread per harness, as in a 1-CPU sandbox: parallel runs must not
# oversubscribe the cores.
HARNESS_ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass
class HarnessRun:
    """What one harness process left behind."""

    returncode: int
    result: dict[str, Any] | None
    stdout: str
    stderr: str


RunHarness = Callable[..., HarnessRun]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("models") / "tiny-gpt2"
    subprocess.run(
        [sys.executable, str(REPO / "sandbox_images" / "tiny_model.py"), str(dest)],
        check=True,
        capture_output=True,
        timeout=HARNESS_TIMEOUT_S,
    )
    return dest


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama whose tokenizer adds BOS, window 64 (tests/harness/tiny_llama.py)."""
    dest = tmp_path_factory.mktemp("models") / "tiny-llama"
    subprocess.run(
        [sys.executable, "-I", str(Path(__file__).resolve().parent / "tiny_llama.py"), str(dest)],
        check=True,
        capture_output=True,
        timeout=HARNESS_TIMEOUT_S,
    )
    return dest


def _prepare(workdir: Path, script: str | None, spec: dict[str, Any]) -> tuple[Path, Path]:
    """Write the script and spec into `workdir`; return (spec path, result path)."""
    result_path = workdir / "result.json"
    full: dict[str, Any] = {"kind": "script", "result_path": str(result_path), "seed": 1234}
    if script is not None:
        script_path = workdir / "script.py"
        script_path.write_text(script, encoding="utf-8")
        full["script_path"] = str(script_path)
    full.update(spec)
    spec_path = workdir / "spec.json"
    spec_path.write_text(json.dumps(full), encoding="utf-8")
    return spec_path, result_path


def run_harness_many(jobs: list[tuple[Path, str | None, dict[str, Any]]]) -> list[HarnessRun]:
    """Run several harness processes at once (each `(workdir, script, spec)`), in order."""
    started = []
    for workdir, script, spec in jobs:
        spec_path, result_path = _prepare(workdir, script, spec)
        process = subprocess.Popen(
            [sys.executable, "-I", str(HARNESS), str(spec_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=workdir,
            env=HARNESS_ENV,
        )
        started.append((process, result_path))
    runs = []
    for process, result_path in started:
        stdout, stderr = process.communicate(timeout=HARNESS_TIMEOUT_S)
        # The harness creates the file empty before the script runs (Landlock): empty is none.
        text = result_path.read_text() if result_path.exists() else ""
        result = json.loads(text) if text else None
        runs.append(HarnessRun(process.returncode, result, stdout, stderr))
    return runs


def run_harness_in(workdir: Path, script: str | None = None, **spec: Any) -> HarnessRun:
    """Run `python -I run.py spec.json` unsandboxed in `workdir`, with host paths in the spec."""
    return run_harness_many([(workdir, script, spec)])[0]


@pytest.fixture
def run_harness(tmp_path: Path) -> RunHarness:
    """`run_harness_in` bound to the test's own temporary directory."""

    def run(script: str | None = None, **spec: Any) -> HarnessRun:
        return run_harness_in(tmp_path, script, **spec)

    return run
