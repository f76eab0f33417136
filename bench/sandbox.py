"""Sandbox overhead and kill latency, run by hand: `python bench/sandbox.py [--runs N]`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evalpod.settings import Settings  # noqa: E402
from monitor.supervisor import supervise  # noqa: E402
from orchestrator.local.backend import LocalBackend  # noqa: E402
from orchestrator.sandbox import ResourceLimits, SandboxJob  # noqa: E402

NOOP = "def evaluate_model(model):\n    return {}\n"
# Breach = the moment the supervisor decides to kill; we time from that to "no task left".
SPAWNER = (
    "import os, time\n"
    "def evaluate_model(model):\n"
    "    for _ in range(8):\n"
    "        if os.fork() == 0:\n"
    "            while True: pass\n"
    "    time.sleep(60)\n"
)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def print_percentiles(label: str, seconds: list[float]) -> None:
    ms = [v * 1000 for v in seconds]
    p50, p95 = percentile(ms, 50), percentile(ms, 95)
    print(f"{label:<27} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms")


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def cli_overhead(runs: int, home: Path) -> None:
    script = home / "noop.py"
    script.write_text(NOOP)
    env = {**os.environ, "EVALPOD_HOME": str(home), "PYTHONPATH": str(ROOT)}
    cli = [sys.executable, "-c", "from evalpod.cli import main; main()"]
    plain = [timed([sys.executable, "-c", "pass"], env) for _ in range(runs)]
    sandboxed = [timed([*cli, "sandbox", "run", str(script), "--json"], env) for _ in range(runs)]
    p, s = statistics.median(plain), statistics.median(sandboxed)
    print(f"python -c pass              median {p * 1000:7.1f} ms")
    print(f"evalpod sandbox run (noop)  median {s * 1000:7.1f} ms   ratio {s / p:5.1f}x")


def job(script: str, timeout_s: float = 30.0) -> SandboxJob:
    limits = ResourceLimits(timeout_s=timeout_s, memory_mb=512)
    return SandboxJob(job_id=f"bench-{uuid.uuid4().hex[:10]}", script=script, limits=limits)


async def discard(line: str) -> None:
    return None


async def backend_overhead(runs: int, backend: LocalBackend) -> None:
    harness = str(ROOT / "sandbox_images" / "harness" / "run.py")
    spec = Path(tempfile.mkdtemp()) / "spec.json"
    fields = {
        "kind": "script",
        "model_path": None,
        "script_path": str(spec.parent / "s.py"),
        "result_path": str(spec.parent / "r.json"),
    }
    spec.write_text(json.dumps(fields))
    (spec.parent / "s.py").write_text(NOOP)
    bare = [timed([sys.executable, "-I", harness, str(spec)], {}) for _ in range(runs)]
    inproc = []
    for _ in range(runs):
        started = time.perf_counter()
        outcome = await backend.run(job(NOOP), discard)
        inproc.append(time.perf_counter() - started)
        assert outcome.status == "succeeded", outcome
    b, i = statistics.median(bare), statistics.median(inproc)
    print(f"harness unsandboxed         median {b * 1000:7.1f} ms")
    overhead = (i - b) * 1000
    print(f"LocalBackend.run (noop)     median {i * 1000:7.1f} ms   overhead {overhead:.1f} ms")


async def kill_latency(runs: int, backend: LocalBackend) -> None:
    latencies = []
    for _ in range(runs):
        process = await backend.launch(job(SPAWNER))
        try:
            await asyncio.sleep(0.3)  # let the children start spinning
            started = time.perf_counter()
            await process.kill()
            latencies.append(time.perf_counter() - started)
            usage = await process.usage()
            assert not usage.processes, usage
        finally:
            await process.cleanup()
    print_percentiles("kill latency (9 spinning)", latencies)


async def timeout_end_to_end(runs: int, backend: LocalBackend) -> None:
    """Wall time past the deadline until supervise returns (poll interval + kill)."""
    late = []
    for _ in range(runs):
        process = await backend.launch(job(SPAWNER, timeout_s=0.5))
        try:
            started = time.perf_counter()
            outcome = await supervise(process, discard, asyncio.Event())
            late.append(time.perf_counter() - started - 0.5)
            assert outcome.status == "killed", outcome
        finally:
            await process.cleanup()
    print_percentiles("timeout -> all dead", late)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="evalpod-bench-"))
    backend = LocalBackend(Settings(home=home))
    cli_overhead(args.runs, home)
    await backend_overhead(args.runs, backend)
    await kill_latency(args.runs, backend)
    await timeout_end_to_end(args.runs, backend)


if __name__ == "__main__":
    asyncio.run(main())
