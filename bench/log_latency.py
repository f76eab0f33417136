"""Benchmark: how late a printed line, and the `end` event, reach an SSE client.

Starts a private `evalpod up` (SQLite + embedded Redis, a temporary EVALPOD_HOME) and
submits a script that prints timestamped lines with pauses between them (a line followed
by computation is the case a lazy flush delays), then its last line just before it returns.
An SSE client on `/evaluations/{id}/logs` notes when each line arrives; the sandbox and
the client read the same host clock, so arrival minus printed time is the line's latency.
`end` latency is the `end` event's arrival minus the last line's printed time, so it
includes the harness writing its result and the interpreter exiting; "after the job's
exit" starts instead at evalpod's closing line of the run, written as soon as the
sandbox's outcome is known, so it is the service's own part: saving the status and
publishing `end`.

Run by hand:  .venv/bin/python bench/log_latency.py [--runs 3] [--lines 40] [--gap-ms 50]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from httpx_sse import connect_sse

SCRIPT = '''
import time

def evaluate_model(model):
    for i in range({lines}):
        print("tick", i, repr(time.time()), flush=True)
        deadline = time.monotonic() + {gap_s}
        while time.monotonic() < deadline:  # computing, not sleeping: nothing else flushes
            pass
    print("last", repr(time.time()), flush=True)
    return {{"ok": 1.0}}
'''


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _line_of(data: str) -> tuple[str, str, str]:
    """(text, phase, source) of a log event's data: JSON objects now, plain text before."""
    try:
        payload = json.loads(data)
    except ValueError:
        return data, "run", "job"
    if isinstance(payload, dict):
        return (str(payload.get("text", "")), str(payload.get("phase", "run")),
                str(payload.get("source", "job")))
    return data, "run", "job"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _one_run(client: httpx.Client, script: str) -> tuple[list[float], float, float]:
    evaluation_id = client.post("/evaluations", json={
        "model_id": "tiny-gpt2", "script": script}).json()["evaluation_id"]
    latencies: list[float] = []
    last_printed = None
    end_latency = float("nan")
    status = ""
    run_ended = None  # arrival of evalpod's "run succeeded after …" line: the job has exited
    from_exit = float("nan")
    with connect_sse(client, "GET", f"/evaluations/{evaluation_id}/logs",
                     timeout=None) as source:
        for event in source.iter_sse():
            now = time.time()
            if event.event == "end":
                status = event.data
                if last_printed is not None:
                    end_latency = now - last_printed
                if run_ended is not None:
                    from_exit = now - run_ended
                break
            if event.event != "log":
                continue
            text, phase, origin = _line_of(event.data)
            if phase == "run" and origin == "evalpod" and " after " in text:
                run_ended = now
            words = text.split()
            if phase != "run" or not words or words[0] not in ("tick", "last"):
                continue
            printed = float(words[-1])
            latencies.append(now - printed)
            if words[0] == "last":
                last_printed = printed
    if status != "succeeded" or not latencies:
        record = client.get(f"/evaluations/{evaluation_id}").json()
        raise SystemExit(f"{evaluation_id} ended {status}: {record.get('error')} "
                         f"{record.get('findings')}")
    return latencies, end_latency, from_exit


def main(runs: int, lines: int, gap_ms: float) -> None:
    home = Path(tempfile.mkdtemp(prefix="evalpod-bench-"))
    port = _port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALPOD_")}
    env["EVALPOD_HOME"] = str(home)
    # The trial is not measured here; on a loaded machine importing torch alone can pass
    # the default 20 s trial cap.
    env["EVALPOD_TRIAL_TIMEOUT_S"] = "180"
    output = (home / "up.log").open("wb")
    server = subprocess.Popen([sys.executable, "-c", "from evalpod.cli import main; main()",
                               "up", "--port", str(port)], env=env, stdout=output,
                              stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/api/v1"
    script = SCRIPT.format(lines=lines, gap_s=gap_ms / 1000)
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(url + "/health").status_code == 200:
                    break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("evalpod up did not start:\n" +
                                     (home / "up.log").read_text()[-3000:]) from None
                time.sleep(0.1)
        key = (home / "admin.key").read_text().strip()
        client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"})
        all_lines: list[float] = []
        ends: list[float] = []
        exits: list[float] = []
        for i in range(runs):
            latencies, end, from_exit = _one_run(client, script)
            all_lines += latencies
            ends.append(end)
            exits.append(from_exit)
            print(f"run {i + 1}: {len(latencies)} lines, p50 {_pct(latencies, .5) * 1e3:.1f} ms, "
                  f"p95 {_pct(latencies, .95) * 1e3:.1f} ms, max {max(latencies) * 1e3:.1f} ms; "
                  f"end {end * 1e3:.0f} ms after the last line, "
                  f"{from_exit * 1e3:.0f} ms after the job's exit")
        print(f"line → SSE client over {len(all_lines)} lines: "
              f"p50 {_pct(all_lines, .5) * 1e3:.1f} ms, p95 {_pct(all_lines, .95) * 1e3:.1f} ms")
        print(f"last line → end event over {runs} runs: median "
              f"{statistics.median(ends) * 1e3:.0f} ms, max {max(ends) * 1e3:.0f} ms")
        print(f"job's exit → end event over {runs} runs: median "
              f"{statistics.median(exits) * 1e3:.0f} ms, max {max(exits) * 1e3:.0f} ms "
              "(from evalpod's line written when the sandbox's outcome is known)")
    finally:
        server.send_signal(2)
        server.wait(timeout=60)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lines", type=int, default=40)
    parser.add_argument("--gap-ms", type=float, default=50.0)
    args = parser.parse_args()
    main(args.runs, args.lines, args.gap_ms)
