"""`evalpod api` alone, as an operator starts it: it says where it serves once it does,
and a busy port or a missing Redis is one line and exit 1, not a traceback (it printed
uvicorn's "[Errno 98]" with exit 3, and 81 lines for the missing Redis)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from evalpod.settings import get_settings
from tests.datasets.conftest import redis_db_lease
from tests.stack import free_port

COMMAND = [sys.executable, "-c", "from evalpod.cli import main; main()", "api"]


def _env(tmp_path: Path, sqlite_dsn: str, redis_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALPOD_")}
    env |= {"EVALPOD_HOME": str(tmp_path), "EVALPOD_DATABASE_URL": sqlite_dsn}
    if redis_url is not None:
        env["EVALPOD_REDIS_URL"] = redis_url
    return env


def test_api_says_where_it_serves_and_ctrl_c_ends_it(sqlite_dsn: str, tmp_path: Path) -> None:
    base = get_settings().redis_dsn().rsplit("/", 1)[0]
    port = free_port()
    with redis_db_lease(base) as db:
        process = subprocess.Popen([*COMMAND, "--port", str(port)],
                                   env=_env(tmp_path, sqlite_dsn, f"{base}/{db}"),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert process.stdout is not None
        try:
            line = process.stdout.readline()
            url = f"http://127.0.0.1:{port}"
            assert line == f"evalpod api serving {url}  (docs: {url}/api/docs)\n"
            assert httpx.get(f"{url}/api/v1/health").status_code == 200
        finally:
            process.send_signal(signal.SIGINT)
            stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert stdout.splitlines() == ["evalpod api stopped (interrupted)"]
    assert "Traceback" not in stderr


def test_a_busy_port_is_one_line(sqlite_dsn: str, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for workers in ("1", "2"):
            started = time.monotonic()
            done = subprocess.run(
                [*COMMAND, "--port", str(port), "--workers", workers],
                env=_env(tmp_path, sqlite_dsn, "redis://127.0.0.1:6379/0"),
                capture_output=True, text=True, timeout=60)
            assert done.returncode == 1, done.stderr
            assert done.stderr.splitlines() == [
                f"error: port {port} on 127.0.0.1 is already in use by another program; "
                "choose another with --port P or EVALPOD_PORT=P"]
            assert time.monotonic() - started < 30


def test_no_redis_is_one_line(sqlite_dsn: str, tmp_path: Path) -> None:
    for command in ([*COMMAND, "--port", str(free_port())],
                    [*COMMAND[:-1], "validator"], [*COMMAND[:-1], "monitor"]):
        done = subprocess.run(command, env=_env(tmp_path, sqlite_dsn, None),
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 1, done.stderr
        [line] = done.stderr.splitlines()
        assert line.startswith("error: EVALPOD_REDIS_URL is not set: evalpod "), line
