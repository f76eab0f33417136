"""`evalpod api --workers N` (uvicorn's supervisor and N API processes) ends as `evalpod api`
alone does: Ctrl-C is one line and exit status 130 (it exited 0, silently), SIGTERM a
normal end, and processes that cannot start fail the command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.processes import alive, descendants
from tests.stack import free_port

CLI = [sys.executable, "-c", "from evalpod.cli import main; main()"]


def _start_api(sqlite_dsn: str, home: Path, port: int, **extra: str
               ) -> subprocess.Popen[str]:
    """`evalpod api --workers 2` in its own session, so a Ctrl-C can signal its group as a
    terminal does."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("EVALPOD_") and k != "KUBECONFIG"}
    env |= {"EVALPOD_HOME": str(home), "EVALPOD_DATABASE_URL": sqlite_dsn,
            "EVALPOD_REDIS_URL": os.environ["EVALPOD_REDIS_URL"], **extra}
    return subprocess.Popen([*CLI, "api", "--port", str(port), "--workers", "2"], env=env,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def _wait_serving(api: subprocess.Popen[str], port: int) -> None:
    """Until a worker answers: the supervisor has taken the signals over by then (it does
    before it starts any worker)."""
    deadline = time.monotonic() + 120  # each worker imports the whole app
    while time.monotonic() < deadline:
        assert api.poll() is None, api.communicate()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("no API worker answered")


@pytest.mark.parametrize("to", ["group", "supervisor"])
def test_ctrl_c_of_api_with_workers_is_one_line_and_130(
        to: str, sqlite_dsn: str, tmp_path: Path) -> None:
    # A terminal's Ctrl-C signals the whole group (the workers too); `kill -INT` only the
    # supervisor, which then stops the workers itself.
    port = free_port()
    api = _start_api(sqlite_dsn, tmp_path, port)
    family: set[int] = set()
    try:
        _wait_serving(api, port)
        family = descendants(api.pid)
        if to == "group":
            os.killpg(api.pid, signal.SIGINT)
        else:
            api.send_signal(signal.SIGINT)
        stdout, stderr = api.communicate(timeout=60)
    finally:
        if api.poll() is None:
            os.killpg(api.pid, signal.SIGKILL)
    assert api.returncode == 130, stdout + stderr
    assert stdout.splitlines() == ["evalpod api stopped (interrupted)"]
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert len(family) >= 2  # the workers were there to be stopped
    # Helpers the supervisor does not wait for (multiprocessing's resource tracker) end
    # when its pipe closes, a moment after it.
    deadline = time.monotonic() + 10
    while (left := [pid for pid in family if alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == []


def test_sigterm_of_api_with_workers_is_a_normal_end(sqlite_dsn: str, tmp_path: Path) -> None:
    # As `evalpod api` alone: a supervisor's stop (Kubernetes, systemd) is no failure.
    port = free_port()
    api = _start_api(sqlite_dsn, tmp_path, port)
    try:
        _wait_serving(api, port)
        api.send_signal(signal.SIGTERM)
        stdout, stderr = api.communicate(timeout=60)
    finally:
        if api.poll() is None:
            os.killpg(api.pid, signal.SIGKILL)
    assert api.returncode == 0, stdout + stderr
    assert stdout == ""
    assert "Traceback" not in stderr, stderr


def test_api_workers_that_cannot_start_fail_the_command(
        sqlite_dsn: str, tmp_path: Path) -> None:
    # A backend the app cannot build at startup (its processes would exit with uvicorn's
    # start-up status, which had ended the command with 0 as if asked to stop): the app is
    # started once before any process is, and that failure ends the command.
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("")
    api = _start_api(sqlite_dsn, tmp_path, free_port(), EVALPOD_BACKEND="kubernetes",
                     EVALPOD_K8S_IN_CLUSTER="false", EVALPOD_K8S_KUBECONFIG=str(kubeconfig))
    try:
        stdout, stderr = api.communicate(timeout=120)
    finally:
        if api.poll() is None:
            os.killpg(api.pid, signal.SIGKILL)
    assert api.returncode == 1, stdout + stderr
    assert "failed to start" in stderr, stderr
    assert "interrupted" not in stdout


def _ended(api: subprocess.Popen[str], timeout_s: float) -> tuple[str, str]:
    """Its output once it ended by itself; fails (and kills its group) if it did not."""
    try:
        return api.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(api.pid, signal.SIGKILL)
        _, stderr = api.communicate()
        raise AssertionError(f"still running after {timeout_s} s:\n{stderr[-3000:]}") from None
    finally:
        if api.poll() is None:
            os.killpg(api.pid, signal.SIGKILL)


def test_a_bad_setting_fails_api_with_workers_at_once_in_one_line(
        sqlite_dsn: str, tmp_path: Path) -> None:
    # Each process raised the settings' ValidationError out of the app factory: not
    # uvicorn's start-up status, so its supervisor started them again, forever.
    api = _start_api(sqlite_dsn, tmp_path, free_port(), EVALPOD_DATABASE_POOL_SIZE="0")
    stdout, stderr = _ended(api, 60)
    assert api.returncode == 1, stdout + stderr
    assert stdout == ""
    # One line naming the variable (not its value), and no process was started.
    [line] = stderr.splitlines()
    assert line.startswith("evalpod: invalid settings: EVALPOD_DATABASE_POOL_SIZE:"), line
    assert "greater than or equal to 1" in line


def test_api_workers_that_keep_dying_at_start_stop_the_command(
        sqlite_dsn: str, tmp_path: Path) -> None:
    # A fault only the API processes meet (here each exits 1 as its interpreter starts;
    # the supervisor, which checked the app itself, is spared): uvicorn restarted them
    # forever, since none exited with its start-up status.
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import os, sys\n"
        "if '--multiprocessing-fork' in sys.argv:  # a process multiprocessing spawned\n"
        "    os._exit(1)\n")
    api = _start_api(sqlite_dsn, tmp_path, free_port(), PYTHONPATH=str(site))
    stdout, stderr = _ended(api, 90)
    assert api.returncode == 1, stdout + stderr
    assert stdout == ""
    assert "the API failed to start: 4 processes ended before any served" in stderr, stderr
    assert "exit status 1" in stderr and "Traceback" not in stderr, stderr
