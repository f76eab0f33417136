"""Jobs run wherever the runtime interpreter lives, scratch paths and symlinks included.

The sandbox mounts its own tmpfs over /tmp, /work and /dev/shm; a venv living under one
of them on the host must still be visible inside (issue #12, fault 7).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evalpod.settings import Settings
from orchestrator.local.backend import LocalBackend
from orchestrator.local.bwrap import RUNTIME_DIR
from orchestrator.sandbox import ResourceLimits, SandboxJob

ROOT = Path(__file__).resolve().parents[2]
CLI = "from evalpod.cli import main; main()"
# These tests probe the sandbox itself: the harness's runtime guard (which denies most of
# what they do, one layer up) stays off where the job model has the switch.
SANDBOX_LAYERS_ONLY: dict[str, Any] = {"guard": False} if "guard" in SandboxJob.model_fields else {}
PREFIX_SCRIPT = (
    "import os, sys\n"
    "def evaluate_model(model):\n"
    "    marker = os.path.join(sys.prefix, 'evalpod-marker')\n"
    "    seen = open(marker).read() if os.path.exists(marker) else None\n"
    "    return {'prefix': sys.prefix, 'executable': sys.executable, 'marker': seen}\n"
)


def make_venv(parent: Path) -> Path:
    """A bare venv (the stub-model harness needs only the standard library)."""
    path = Path(tempfile.mkdtemp(prefix="evalpod-venv-", dir=parent))
    path.chmod(0o755)  # mkdtemp makes it 0700: the sandbox uid must reach the interpreter
    venv.EnvBuilder(with_pip=False, symlinks=True).create(path)
    (path / "evalpod-marker").write_text(str(path))  # proves which venv the job ran in
    return path


@pytest.fixture
def scratch_parent(request: pytest.FixtureRequest) -> Iterator[Path]:
    parent = Path(request.param)
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        pytest.skip(f"{parent} is not a writable directory on this host")
    yield parent


async def run_prefix_job(home: Path, python: str) -> tuple[str, dict[str, object] | None, str]:
    backend = LocalBackend(Settings(home=home, runtime_python=python))
    job = SandboxJob(
        job_id="runtime-where",
        script=PREFIX_SCRIPT,
        limits=ResourceLimits(timeout_s=30, memory_mb=512),
        **SANDBOX_LAYERS_ONLY,
    )

    async def discard(_line: str) -> None:
        return None

    outcome = await backend.run(job, discard)
    return outcome.status, outcome.result, outcome.stdout_tail


@pytest.mark.parametrize("scratch_parent", ["/tmp", "/dev/shm", "/work"], indirect=True)
async def test_venv_under_a_scratch_path_runs(scratch_parent: Path, tmp_path: Path) -> None:
    env = make_venv(scratch_parent)
    try:
        status, result, tail = await run_prefix_job(tmp_path, str(env / "bin" / "python"))
    finally:
        shutil.rmtree(env, ignore_errors=True)
    assert status == "succeeded", tail
    assert result == {
        "prefix": RUNTIME_DIR,
        "executable": f"{RUNTIME_DIR}/bin/python",
        "marker": str(env),
    }


async def test_venv_reached_through_a_symlink_runs(tmp_path: Path) -> None:
    env = make_venv(Path(tempfile.gettempdir()))
    link = tmp_path / "venv-link"
    link.symlink_to(env)
    try:
        status, result, tail = await run_prefix_job(tmp_path / "home", str(link / "bin" / "python"))
    finally:
        shutil.rmtree(env, ignore_errors=True)
    assert status == "succeeded", tail
    assert result is not None and result["marker"] == str(env)


async def test_runtime_python_names_another_venv_of_the_same_base(tmp_path: Path) -> None:
    """Not the service's venv: the job must see the configured venv's own prefix."""
    env = make_venv(Path(tempfile.gettempdir()))
    try:
        status, result, tail = await run_prefix_job(tmp_path, str(env / "bin" / "python"))
    finally:
        shutil.rmtree(env, ignore_errors=True)
    assert status == "succeeded", tail
    assert result is not None and result["marker"] == str(env) != sys.prefix


async def test_service_interpreter_is_the_default(tmp_path: Path) -> None:
    backend = LocalBackend(Settings(home=tmp_path))
    assert backend.python == os.path.abspath(sys.executable)
    job = SandboxJob(
        job_id="runtime-default",
        script=PREFIX_SCRIPT,
        limits=ResourceLimits(timeout_s=30, memory_mb=512),
        **SANDBOX_LAYERS_ONLY,
    )

    async def discard(_line: str) -> None:
        return None

    outcome = await backend.run(job, discard)
    assert outcome.status == "succeeded", outcome.stdout_tail
    # A venv runs from a neutral path (no checkout path inside); a base interpreter in place.
    expected = sys.prefix if sys.prefix == sys.base_prefix else RUNTIME_DIR
    assert outcome.result is not None and outcome.result["prefix"] == expected


async def test_check_ready_runs_a_real_job(tmp_path: Path) -> None:
    report = await LocalBackend(Settings(home=tmp_path)).check_ready()
    feature = report.feature("job_runs")
    assert feature is not None and feature.ok and feature.required, feature


async def test_check_ready_fails_when_the_runtime_cannot_run(tmp_path: Path) -> None:
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    report = await LocalBackend(Settings(home=tmp_path, runtime_python=str(broken))).check_ready()
    feature = report.feature("job_runs")
    assert feature is not None and not feature.ok
    assert not report.ok and "job_runs" in report.missing()


def test_doctor_cli_is_not_ready_when_jobs_fail(tmp_path: Path) -> None:
    """The CLI's verdict comes from the real job, not from the probes alone."""
    env = {**os.environ, "EVALPOD_HOME": str(tmp_path), "EVALPOD_RUNTIME_PYTHON": "/nonexistent"}
    done = subprocess.run(
        [sys.executable, "-c", CLI, "doctor", "--json"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is False
    job_runs = next(f for f in report["features"] if f["name"] == "job_runs")
    assert job_runs["ok"] is False and "/nonexistent" in job_runs["detail"]


def test_doctor_cli_says_ready_after_a_job_ran(tmp_path: Path) -> None:
    env = {**os.environ, "EVALPOD_HOME": str(tmp_path)}
    env.pop("EVALPOD_RUNTIME_PYTHON", None)
    done = subprocess.run(
        [sys.executable, "-c", CLI, "doctor"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "job_runs" in done.stdout and done.stdout.rstrip().endswith("sandbox: ready")
