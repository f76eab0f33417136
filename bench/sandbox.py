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
from orchestrator.local.cgroups import JobCgroup, detect_layout, join_cgroups  # noqa: E402
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


def _noop_spec(directory: Path) -> Path:
    """A harness spec for the no-op script, with paths valid outside any sandbox."""
    spec = directory / "spec.json"
    fields = {
        "kind": "script",
        "model_path": None,
        "script_path": str(directory / "s.py"),
        "result_path": str(directory / "r.json"),
        "guard": False,  # the same harness work in every variant: no audit hooks
    }
    spec.write_text(json.dumps(fields))
    (directory / "s.py").write_text(NOOP)
    return spec


def _minimal_bwrap(bwrap: str, command: list[str], spec_dir: Path) -> list[str]:
    """The cheapest bubblewrap that runs the same interpreter: the host root, read-only."""
    binds = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    return [bwrap, *binds, "--bind", str(spec_dir), str(spec_dir), "--", *command]


async def backend_overhead(runs: int, backend: LocalBackend) -> None:
    """Sandbox start overhead: the no-op job through LocalBackend.run vs the same harness
    run bare vs the same under a minimal bwrap, interleaved so load drifts hit all three.

    The harness's guard is off in all three (it is not sandbox start-up). `run` is
    launch + supervise + cleanup, i.e. what a worker waits for.
    """
    harness = str(ROOT / "sandbox_images" / "harness" / "run.py")
    spec_dir = Path(tempfile.mkdtemp())
    spec = _noop_spec(spec_dir)
    command = [sys.executable, "-I", harness, str(spec)]
    bwrap = backend.doctor().bwrap_path or "bwrap"
    sandboxed = {"guard": False} if "guard" in SandboxJob.model_fields else {}
    bare: list[float] = []
    minimal: list[float] = []
    full: list[float] = []
    launches: list[float] = []
    in_cgroup: list[float] = []
    layout = detect_layout()
    for _ in range(runs):
        bare.append(timed(command, {}))
        minimal.append(timed(_minimal_bwrap(bwrap, command, spec_dir), {}))
        if layout.usable:
            # The bare harness under a job's cgroup (its CPU quota and weight, beside the
            # other jobs of the host): the share of a loaded CPU, not sandbox start-up.
            group = JobCgroup.create(layout, f"bench-{uuid.uuid4().hex[:8]}",
                                     job(NOOP).limits)
            try:
                started = time.perf_counter()
                subprocess.run(command, env={}, check=True, capture_output=True,
                               preexec_fn=lambda g=group: join_cgroups(g.procs_files))
                in_cgroup.append(time.perf_counter() - started)
            finally:
                group.kill_all()
                group.remove()
        # What `backend.run` does, with the launch timed on its own: on a loaded host the
        # job's cgroup gets its CPU weight's share while the bare harness competes as a
        # plain process, so the whole run's difference is not only start-up.
        started = time.perf_counter()
        process = await backend.launch(job(NOOP).model_copy(update=sandboxed))
        launched = time.perf_counter()
        try:
            outcome = await supervise(process, discard, asyncio.Event())
        finally:
            await process.cleanup()
        full.append(time.perf_counter() - started)
        launches.append(launched - started)
        assert outcome.status == "succeeded", outcome
    rows = [("harness bare", bare), ("harness in minimal bwrap", minimal),
            ("harness bare in a job cgroup", in_cgroup),
            ("LocalBackend.run (no-op job)", full)]  # fmt: skip
    base_median, base_min = statistics.median(bare), min(bare)
    for label, values in rows:
        if not values:
            continue
        median, low = statistics.median(values), min(values)
        print(
            f"{label:<29} median {median * 1000:7.1f} ms (+{(median - base_median) * 1000:6.1f})"
            f"   min {low * 1000:7.1f} ms (+{(low - base_min) * 1000:6.1f})"
        )
    print(f"{'  of which launch':<29} median {statistics.median(launches) * 1000:7.1f} ms"
          f"   min {min(launches) * 1000:7.1f} ms   (until the job may start)")
    overhead = statistics.median(full) - base_median
    print(f"start overhead over bare: {overhead * 1000:.1f} ms (target <= 10 ms)"
          f"   load average {os.getloadavg()[0]:.2f}")
    if in_cgroup:
        # Same cgroup share on both sides: what is left is the sandbox's own cost.
        fair = statistics.median(full) - statistics.median(in_cgroup)
        print(f"start overhead over bare in a job cgroup: {fair * 1000:.1f} ms")


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
    parser.add_argument("--only-start", action="store_true", help="Only the start overhead.")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="evalpod-bench-"))
    backend = LocalBackend(Settings(home=home))
    await backend.run(job(NOOP), discard)  # warm: probes, seccomp compile, runtime layout
    await backend_overhead(args.runs, backend)
    if args.only_start:
        return
    cli_overhead(args.runs, home)
    await kill_latency(args.runs, backend)
    await timeout_end_to_end(args.runs, backend)


if __name__ == "__main__":
    asyncio.run(main())
