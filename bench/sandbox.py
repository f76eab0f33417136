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
from orchestrator.local.cgroups import (  # noqa: E402
    JobCgroup,
    current_thread_files,
    detect_layout,
    join_cgroups,
    move_current_thread,
)
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
    """A job measuring the sandbox alone: the harness's runtime guard (which would stop
    SPAWNER's first fork as a policy violation) is off."""
    limits = ResourceLimits(timeout_s=timeout_s, memory_mb=512)
    job_id = f"bench-{uuid.uuid4().hex[:10]}"
    return SandboxJob(job_id=job_id, script=script, limits=limits, guard=False)


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


def _run_in_cgroup(command: list[str]) -> float:
    """The bare harness started inside a fresh job cgroup, the way a cold job is (v1: the
    thread steps in, forks, steps out; v2: the child is moved before it execs)."""
    layout = detect_layout()
    group = JobCgroup.create(layout, f"bench-{uuid.uuid4().hex[:8]}", job(NOOP).limits)
    try:
        started = time.perf_counter()
        own = current_thread_files(layout)
        if group.thread_files is not None and own is not None:
            move_current_thread(group.thread_files)
            try:
                child = subprocess.Popen(
                    command, env={}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
                )
            finally:
                move_current_thread(own)
        else:
            child = subprocess.Popen(
                command,
                env={},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                preexec_fn=lambda: join_cgroups(group.procs_files),
            )
        child.communicate()
        elapsed = time.perf_counter() - started
        assert child.returncode == 0, child.returncode
        return elapsed
    finally:
        group.kill_all()
        group.remove()


async def _run_backend(backend: LocalBackend, launches: list[float]) -> float:
    """What a worker waits for: `LocalBackend.run` (launch + supervise + cleanup), with
    the launch alone (until the job may start) appended to `launches`."""
    started = time.perf_counter()
    process = await backend.launch(job(NOOP))
    launches.append(time.perf_counter() - started)
    try:
        outcome = await supervise(process, discard, asyncio.Event())
    finally:
        await process.cleanup()
    elapsed = time.perf_counter() - started
    assert outcome.status == "succeeded", outcome
    return elapsed


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f}"


def _paired(values: list[float], base: list[float]) -> list[float]:
    return [value - ref for value, ref in zip(values, base, strict=True)]


async def backend_overhead(runs: int, backend: LocalBackend) -> None:
    """Sandbox start overhead on the cold path (issue #15 item 3: <= 10 ms over bare).

    Each round runs the no-op harness bare, under a minimal bwrap, bare in a fresh job
    cgroup and as a job through `LocalBackend.run`, in an order reversed every other
    round (ABCD DCBA), so load drift hits every variant alike. The harness's guard is off
    in all of them (it is not sandbox start-up). Reported: each variant's median, p95
    and minimum, and the overhead as the median and p95 of the per-round differences
    (a round's sandboxed run minus the same round's bare run), beside the difference of
    the medians.
    """
    harness = str(ROOT / "sandbox_images" / "harness" / "run.py")
    spec_dir = Path(tempfile.mkdtemp())
    spec = _noop_spec(spec_dir)
    command = [sys.executable, "-I", harness, str(spec)]
    bwrap = backend.doctor().bwrap_path or "bwrap"
    cgroups = detect_layout().usable
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    launches: list[float] = []
    load_before = os.getloadavg()
    for round_ in range(runs):
        order = list(VARIANTS) if round_ % 2 == 0 else list(VARIANTS)[::-1]
        for name in order:
            if name == "bare":
                times[name].append(timed(command, {}))
            elif name == "minimal bwrap":
                times[name].append(timed(_minimal_bwrap(bwrap, command, spec_dir), {}))
            elif name == "bare in job cgroup":
                if cgroups:
                    times[name].append(_run_in_cgroup(command))
            else:
                times[name].append(await _run_backend(backend, launches))
    load_after = os.getloadavg()
    print(f"sandbox start, no-op harness: {runs} rounds, variants interleaved (ABCD DCBA)")
    print(f"{'':<30} {'median':>7} {'p95':>7} {'min':>7}   (ms)")
    for name, label in VARIANTS.items():
        values = times[name]
        if values:
            print(
                f"{label:<30} {_ms(statistics.median(values))} "
                f"{_ms(percentile(values, 95))} {_ms(min(values))}"
            )
    print(
        f"{'  of which launch':<30} {_ms(statistics.median(launches))} "
        f"{_ms(percentile(launches, 95))} {_ms(min(launches))}   (until the job may start)"
    )
    full = times["LocalBackend.run"]
    bases = (("bare", "over bare"), ("bare in job cgroup", "over bare in a job cgroup"))
    for base_name, title in bases:
        base = times[base_name]
        if not base:
            continue
        paired = _paired(full, base)
        medians = statistics.median(full) - statistics.median(base)
        target = "   (target <= 10 ms)" if base_name == "bare" else ""
        print(
            f"start overhead {title}: median {paired_ms(statistics.median(paired))} ms, "
            f"p95 {paired_ms(percentile(paired, 95))} ms of the per-round differences; "
            f"difference of medians {paired_ms(medians)} ms{target}"
        )
    minimal = _paired(times["minimal bwrap"], times["bare"])
    print(
        f"minimal bwrap over bare: median {paired_ms(statistics.median(minimal))} ms "
        "(bubblewrap's own floor)"
    )
    before, after = load_before[0], load_after[0]
    print(f"load average (1 min) {before:.2f} before, {after:.2f} after; {os.cpu_count()} CPUs")


def paired_ms(seconds: float) -> str:
    return f"{seconds * 1000:+.1f}"


VARIANTS = {
    "bare": "harness bare",
    "minimal bwrap": "harness in minimal bwrap",
    "bare in job cgroup": "harness bare in a job cgroup",
    "LocalBackend.run": "LocalBackend.run (no-op job)",
}


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
            assert outcome.status == "killed" and outcome.violation is not None, outcome
            assert outcome.violation.kind == "timeout", outcome
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
