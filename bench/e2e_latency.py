"""Benchmark: time from submit to `succeeded` for examples/qa_exact_match.py under `evalpod up`.

Starts a private `evalpod up` (SQLite + embedded Redis, a temporary EVALPOD_HOME),
submits the example N times one after another, and prints each time, the median,
and where the time goes (validation vs queue vs run) from the recorded transitions.
Run by hand:  python bench/e2e_latency.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx
from httpx_sse import connect_sse

ROOT = Path(__file__).resolve().parent.parent


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _at(record: dict[str, object], status: str) -> datetime:
    for transition in record["transitions"]:  # type: ignore[attr-defined]
        if transition["to_status"] == status:
            return datetime.fromisoformat(transition["at"].replace("Z", "+00:00"))
    raise KeyError(status)


def main(runs: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="evalpod-bench-"))
    port = _port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALPOD_")}
    env["EVALPOD_HOME"] = str(home)
    server = subprocess.Popen([sys.executable, "-c", "from evalpod.cli import main; main()",
                               "up", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api/v1"
    try:
        for _ in range(1200):
            try:
                if httpx.get(url + "/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        key = (home / "admin.key").read_text().strip()
        client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"})
        script = (ROOT / "examples" / "qa_exact_match.py").read_text()
        totals = []
        for i in range(runs):
            started = time.perf_counter()
            evaluation_id = client.post("/evaluations", json={
                "model_id": "tiny-gpt2", "script": script}).json()["evaluation_id"]
            # Wait as a client should: on the SSE stream's `end` event, not by polling.
            with connect_sse(client, "GET", f"/evaluations/{evaluation_id}/logs",
                             timeout=None) as source:
                status = next(e.data for e in source.iter_sse() if e.event == "end")
            total = time.perf_counter() - started
            record = client.get(f"/evaluations/{evaluation_id}").json()
            assert status == "succeeded", record
            submitted = _at(record, "pending_validation")
            phases = {
                "validation": (_at(record, "validated") - submitted).total_seconds(),
                "queue": (_at(record, "executing") - _at(record, "validated")).total_seconds(),
                "run": (_at(record, "succeeded") - _at(record, "executing")).total_seconds(),
            }
            totals.append(total)
            print(f"run {i + 1}: {total:.2f} s  " +
                  "  ".join(f"{k} {v:.2f} s" for k, v in phases.items()))
        print(f"median submit → succeeded over {runs} runs: {statistics.median(totals):.2f} s")
    finally:
        server.send_signal(2)
        server.wait(timeout=60)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    main(parser.parse_args().runs)
