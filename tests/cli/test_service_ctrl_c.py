"""Ctrl-C of a long-running service command, as a person presses it: the real `evalpod
validator` process on a leased Redis DB and a migrated SQLite database ends with one line
and exit status 130, as `evalpod up` does (it exited 0)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from evalpod.settings import get_settings
from tests.datasets.conftest import redis_db_lease


def test_ctrl_c_of_evalpod_validator_exits_130_with_one_line(
        sqlite_dsn: str, tmp_path: Path) -> None:
    base = get_settings().redis_dsn().rsplit("/", 1)[0]
    with redis_db_lease(base) as db:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EVALPOD_")}
        env |= {"EVALPOD_HOME": str(tmp_path), "EVALPOD_DATABASE_URL": sqlite_dsn,
                "EVALPOD_REDIS_URL": f"{base}/{db}"}
        process = subprocess.Popen(
            [sys.executable, "-c", "from evalpod.cli import main; main()", "validator"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert process.stderr is not None
        deadline = time.monotonic() + 120
        line = ""
        while "worker" not in line or "started" not in line:  # the signals are its own now
            line = process.stderr.readline()
            assert line and time.monotonic() < deadline, "the validator did not start"
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stdout + stderr
    assert stdout.splitlines() == ["evalpod validator stopped (interrupted)"]
    assert "Traceback" not in stderr
