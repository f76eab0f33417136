"""The issue's example (#12.2): `evalpod up` restarts, its embedded Redis is empty, and
the log of an evaluation that printed 5 lines is still served, from the archive."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from httpx_sse import connect_sse

from evalpod.logs.events import parse_log_data
from tests.stack import free_port

CLI = [sys.executable, "-c", "from evalpod.cli import main; main()"]
FIVE_LINES = '''
def evaluate_model(model):
    for i in range(5):
        print(f"line {i}")
    return {"lines": 5}
'''


@contextmanager
def _up(env: dict[str, str], port: int) -> Iterator[httpx.Client]:
    up = subprocess.Popen([*CLI, "up", "--port", str(port)], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(url + "/health").status_code == 200:
                    break
            except httpx.TransportError:
                assert up.poll() is None and time.monotonic() < deadline, "up did not start"
                time.sleep(0.2)
        key = (Path(env["EVALPOD_HOME"]) / "admin.key").read_text().strip()
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"},
                          timeout=60) as client:
            yield client
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(timeout=60)


def _log(client: httpx.Client, evaluation_id: str) -> tuple[list[tuple[str, str]], str]:
    with connect_sse(client, "GET", f"/evaluations/{evaluation_id}/logs") as source:
        events = list(source.iter_sse())
    lines = [parse_log_data(e.data) for e in events if e.event == "log"]
    assert events[-1].event == "end"
    return [(line.phase, line.text) for line in lines if line.source == "job"], events[-1].data


@pytest.mark.slow
def test_log_survives_a_restart_of_evalpod_up(tmp_path: Path, tiny_model_dir: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(tiny_model_dir, home / "models" / "tiny-gpt2")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALPOD_")}
    # The trial is not under test; a loaded CI machine can take 20 s to import torch.
    env |= {"EVALPOD_HOME": str(home), "EVALPOD_TRIAL_TIMEOUT_S": "180"}
    port = free_port()
    with _up(env, port) as client:
        response = client.post("/evaluations", json={"model_id": "tiny-gpt2",
                                                      "script": FIVE_LINES})
        evaluation_id = response.json()["evaluation_id"]
        before, status = _log(client, evaluation_id)  # follows the live stream to its end
    assert status == "succeeded"
    for expected_phase in ("trial", "run"):
        printed = [text for phase, text in before
                   if phase == expected_phase and text.startswith("line ")]
        assert printed == [f"line {i}" for i in range(5)], before
    with _up(env, port) as client:  # a new embedded Redis: no stream any more
        after, status = _log(client, evaluation_id)
    assert status == "succeeded"
    assert after == before
