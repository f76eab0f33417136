"""Benchmark: time from submit to `succeeded` for examples/qa_exact_match.py under `evalpod up`.

Starts a private `evalpod up` (SQLite + embedded Redis, a temporary EVALPOD_HOME),
submits the example N times one after another, and prints each time, the median and
p95, where the time goes (validation vs queue vs run) from the recorded transitions, and
how long the script's first printed line took to reach the client (the trial's, since
the trial runs first).

`evalpod up` keeps a warm sandbox pool (EVALPOD_WARM_POOL_SIZE=1); `--pool off` measures
the cold path. A pool learns its keys (model/shadow) from demand, so `--warmup` runs go
first and are not counted; `--pause S` waits between runs so the pool has refilled (a
submission that finds it empty starts cold, as back-to-back runs on 2 cores do).
Run by hand:  python bench/e2e_latency.py [--runs 5] [--pool on|off] [--pause 8] [--warmup 1]

`--sandbox` measures the sandbox alone, side by side on one LocalBackend: the example on
tiny-gpt2 from launch to outcome, cold and drawn from a primed pool in turn (the
pool's effect without its refill timing or the API, validator and queue around it).
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

from evalpod.logs.events import parse_log_data

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


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _script_line(data: str) -> bool:
    """A line the script printed: from the job, not the in-sandbox harness's `[evalpod] ...`."""
    line = parse_log_data(data)
    return line.source == "job" and not line.text.startswith("[evalpod]")


def _pool_counts(client: httpx.Client) -> str:
    """The warm pools' take counts per role, from /metrics (the workers publish them)."""
    text = client.get(str(client.base_url).rstrip("/").removesuffix("/api/v1") + "/metrics").text
    counts = []
    for line in text.splitlines():
        if line.startswith("evalpod_warm_pool_") and "_total{" in line:
            name, value = line.rsplit(" ", 1)
            counts.append(f"{name.removeprefix('evalpod_warm_pool_')} {float(value):g}")
    return ", ".join(counts) or "no pool published"


def main(runs: int, pool: str, pause: float, warmup: int,
         warm_cpu_weight: float | None = None) -> None:
    home = Path(tempfile.mkdtemp(prefix="evalpod-bench-"))
    port = _port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALPOD_")}
    env["EVALPOD_HOME"] = str(home)
    env["EVALPOD_WARM_POOL_SIZE"] = "1" if pool == "on" else "0"
    # An experiment, not a setting: the CPU weight warm-ups run at, patched in `evalpod up`.
    patch = ("" if warm_cpu_weight is None else
             f"import orchestrator.local.backend as b; b.WARM_CPU_WEIGHT = {warm_cpu_weight!r}; ")
    server = subprocess.Popen([sys.executable, "-c", patch + "from evalpod.cli import main; main()",
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
        totals, firsts = [], []
        for i in range(warmup + runs):
            if i and pause:
                time.sleep(pause)
            started = time.perf_counter()
            evaluation_id = client.post("/evaluations", json={
                "model_id": "tiny-gpt2", "script": script}).json()["evaluation_id"]
            first = None
            # Wait as a client should: on the SSE stream's `end` event, not by polling.
            with connect_sse(client, "GET", f"/evaluations/{evaluation_id}/logs",
                             timeout=None) as source:
                for event in source.iter_sse():
                    if event.event == "log" and first is None and _script_line(event.data):
                        first = time.perf_counter() - started
                    if event.event == "end":
                        status = event.data
                        break
            total = time.perf_counter() - started
            record = client.get(f"/evaluations/{evaluation_id}").json()
            assert status == "succeeded", record
            submitted = _at(record, "pending_validation")
            phases = {
                "validation": (_at(record, "validated") - submitted).total_seconds(),
                "queue": (_at(record, "executing") - _at(record, "validated")).total_seconds(),
                "run": (_at(record, "succeeded") - _at(record, "executing")).total_seconds(),
            }
            label = "warm-up" if i < warmup else f"run {i + 1 - warmup}"
            shown = f"{first:.3f} s" if first is not None else "-"
            print(f"{label}: {total:.2f} s  first script line {shown}  " +
                  "  ".join(f"{k} {v:.2f} s" for k, v in phases.items()), flush=True)
            if i >= warmup:
                totals.append(total)
                if first is not None:
                    firsts.append(first)
        print(f"pool {pool}: submit → succeeded over {runs} runs: median "
              f"{statistics.median(totals):.2f} s, p95 {_p95(totals):.2f} s")
        if firsts:
            print(f"pool {pool}: submit → first script line: median "
                  f"{statistics.median(firsts):.3f} s, p95 {_p95(firsts):.3f} s")
        time.sleep(3.0)  # > one heartbeat (2 s): the workers publish their last counts
        print(f"pool {pool}: takes (warm-up runs included): {_pool_counts(client)}")
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    finally:
        server.send_signal(2)
        server.wait(timeout=60)


async def _sandbox_side_by_side(runs: int) -> None:
    import asyncio

    from evalpod.settings import Settings
    from orchestrator.local.backend import LocalBackend
    from orchestrator.sandbox import ResourceLimits, SandboxJob

    model = Path(os.environ.get("EVALPOD_TEST_CACHE", Path.home() / ".cache" / "evalpod-tests"))
    model = model / "tiny-gpt2"
    if not (model / "config.json").exists():
        subprocess.run([sys.executable, str(ROOT / "sandbox_images" / "tiny_model.py"),
                        str(model)], check=True)
    home = Path(tempfile.mkdtemp(prefix="evalpod-bench-"))
    backend = LocalBackend(Settings(home=home, warm_pool_size=1))
    pool = backend.warm_pool
    assert pool is not None
    script = (ROOT / "examples" / "qa_exact_match.py").read_text()
    times: dict[str, list[float]] = {"cold": [], "warm": []}
    firsts: dict[str, list[float]] = {"cold": [], "warm": []}
    try:
        for i in range(runs):
            for mode in ("cold", "warm"):
                job = SandboxJob(job_id=f"bench-{mode}-{i}", script=script, model_id="tiny-gpt2",
                                 model_path=model,
                                 limits=ResourceLimits(timeout_s=300, memory_mb=4096))
                if mode == "warm":
                    await pool.prime(job)
                first: list[float] = []
                started = time.perf_counter()

                async def sink(line: str, first: list[float] = first,
                               started: float = started) -> None:
                    if not first and not line.startswith("[evalpod]"):
                        first.append(time.perf_counter() - started)

                if mode == "cold":
                    from monitor.supervisor import supervise

                    process = await backend.start(job)
                    try:
                        outcome = await supervise(process, sink, asyncio.Event())
                    finally:
                        await process.cleanup()
                else:
                    taken = pool.taken
                    outcome = await backend.run(job, sink)
                    assert pool.taken == taken + 1, "the warm run was not drawn from the pool"
                total = time.perf_counter() - started
                assert outcome.status == "succeeded", outcome
                times[mode].append(total)
                firsts[mode].extend(first)
                print(f"{mode} {i + 1}: {total:.3f} s, first script line "
                      f"{first[0] if first else float('nan'):.3f} s", flush=True)
    finally:
        await backend.aclose()
    for mode in ("cold", "warm"):
        print(f"sandbox {mode}: launch → outcome median {statistics.median(times[mode]):.3f} s, "
              f"p95 {_p95(times[mode]):.3f} s; first script line median "
              f"{statistics.median(firsts[mode]):.3f} s, p95 {_p95(firsts[mode]):.3f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pool", choices=("on", "off"), default="on",
                        help="the warm sandbox pool of `evalpod up` (off: every job cold)")
    parser.add_argument("--pause", type=float, default=0.0,
                        help="seconds between submissions (lets the pool refill)")
    parser.add_argument("--warmup", type=int, default=1,
                        help="uncounted first runs (the pool learns its keys from them)")
    parser.add_argument("--warm-cpu-weight", type=float, default=None,
                        help="experiment: the CPU weight (in busy processes) warm sandboxes "
                             "warm up at, patched into `evalpod up` (default: the backend's)")
    parser.add_argument("--sandbox", action="store_true",
                        help="the sandbox alone: cold vs drawn from a primed pool, side by side")
    args = parser.parse_args()
    if args.sandbox:
        import asyncio

        asyncio.run(_sandbox_side_by_side(args.runs))
    else:
        main(args.runs, args.pool, args.pause, args.warmup, args.warm_cpu_weight)
