"""`evalpod up` and the quickstart on a port another program holds (issue #14 items 4, 6).

Before: `up` printed "evalpod is up" and then failed to bind, and the quickstart's health
check passed against the other server.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REDIS_TEST_URL

ROOT = Path(__file__).resolve().parents[2]
CLI = "from evalpod.cli import main; main()"


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port some other program listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def up_env(home: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "EVALPOD_HOME": str(home), "EVALPOD_REDIS_URL": REDIS_TEST_URL, **extra}
    for name in ("EVALPOD_DATABASE_URL", "EVALPOD_PORT", "EVALPOD_HOST"):
        if name not in extra:
            env.pop(name, None)
    return env


def test_up_refuses_a_busy_port_before_announcing(busy_port: int, tmp_path: Path) -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", CLI, "up", "--port", str(busy_port)],
        capture_output=True, text=True, env=up_env(tmp_path / "home"), cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1, done
    assert "evalpod is up" not in done.stdout and done.stdout == "", done.stdout
    assert done.stderr.strip().splitlines() == [
        f"error: port {busy_port} on 127.0.0.1 is already in use by another program;"
        " choose another with --port P or EVALPOD_PORT=P"
    ]
    assert time.monotonic() - started < 30  # refused first, before migrations or models
    assert not (tmp_path / "home").exists()


def test_up_reads_the_port_from_evalpod_port(busy_port: int, tmp_path: Path) -> None:
    env = up_env(tmp_path / "home", EVALPOD_PORT=str(busy_port))
    done = subprocess.run(
        [sys.executable, "-c", CLI, "up"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1 and f"port {busy_port} " in done.stderr, done


def test_quickstart_names_the_busy_port_before_setup(busy_port: int, tmp_path: Path) -> None:
    env = up_env(tmp_path / "home", EVALPOD_PORT=str(busy_port))
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "quickstart.sh")],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1, done
    assert f"port {busy_port} is busy" in done.stderr and "EVALPOD_PORT=" in done.stderr
    assert "pip install" not in done.stdout + done.stderr  # refused before the setup


def test_up_says_which_process_serves_which_url(tmp_path: Path) -> None:
    """up.json (pid + url) is how a script knows the server on the port is its own."""
    home, port = tmp_path / "home", free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", CLI, "up", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env=up_env(home), cwd=ROOT,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        announced = ""
        deadline = time.monotonic() + 240
        while "evalpod is up" not in announced and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            announced += line
        assert "evalpod is up" in announced, announced
        url = f"http://127.0.0.1:{port}"
        assert json.loads((home / "up.json").read_text()) == {"pid": proc.pid, "url": url}
        # Announced only once the API answers.
        with urllib.request.urlopen(f"{url}/api/v1/health", timeout=5) as response:
            assert response.status == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    assert not (home / "up.json").exists()
