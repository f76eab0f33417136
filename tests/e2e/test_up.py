"""`evalpod up` end to end through the real CLI: start, submit --follow, Ctrl-C, no orphans."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.e2e.processes import alive, descendants
from tests.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from evalpod.cli import main; main()"]


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=60)


def test_up_runs_an_example_and_stops_cleanly(tmp_path: Path, tiny_model_dir: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(tiny_model_dir, home / "models" / "tiny-gpt2")  # skip rebuilding it
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALPOD_")}
    env |= {"EVALPOD_HOME": str(home), "EVALPOD_URL": f"http://127.0.0.1:{port}"}
    up = subprocess.Popen([*CLI, "up", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/health").status_code == 200:
                    break
            except httpx.TransportError:
                assert up.poll() is None, up.stdout.read().decode() if up.stdout else ""
                time.sleep(0.2)
        key_file = home / "admin.key"
        assert oct(key_file.stat().st_mode & 0o777) == "0o600"
        submitted = subprocess.run(
            [*CLI, "submit", str(ROOT / "examples" / "multiple_choice.py"), "--model",
             "tiny-gpt2", "--follow"], env=env, capture_output=True, text=True, timeout=300)
        assert submitted.returncode == 0, submitted.stdout + submitted.stderr
        assert "-- executing" in submitted.stderr and ": succeeded" in submitted.stdout
        evaluation_id = submitted.stderr.split()[1]
        status = _cli(env, "status", evaluation_id)
        assert status.returncode == 0 and f"{evaluation_id}: succeeded" in status.stdout
        logs = _cli(env, "logs", evaluation_id)
        assert logs.returncode == 0 and f"-- {evaluation_id}: succeeded" in logs.stderr
        assert "accuracy" in logs.stdout or "[" in logs.stdout
        cancel = _cli(env, "cancel", evaluation_id)
        assert cancel.returncode == 1 and "JOB_ALREADY_COMPLETED" in cancel.stderr
        family = descendants(up.pid)
        assert family, "evalpod up should have children (at least redis-server)"
    finally:
        up.send_signal(signal.SIGINT)
        output = up.communicate(timeout=60)[0].decode()
    assert up.returncode == 130, output  # Ctrl-C: exit status 130, as shells expect
    assert "evalpod stopped" in output
    # a person's terminal: no line per request or per migration step
    assert "evalpod.access" not in output and "alembic" not in output, output
    survivors = [pid for pid in family if alive(pid)]
    assert survivors == [], survivors
