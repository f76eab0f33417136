"""What the runtime guard costs: guarded vs unguarded wall time of real jobs.

Runs the in-sandbox harness (`python -I run.py spec.json`, the same process a sandbox
runs, without bubblewrap around it: the guard's cost does not depend on it) on every
example in `examples/` and on an lm-eval job over the shipped tasks, each `--repeats`
times with the guard armed and unarmed, interleaved so that load drift hits both alike.
Prints the median and the minimum wall time of each side and the overhead of the
median (target: within 3 %).

    python bench/guard_overhead.py [--repeats 5] [--model DIR] [--limit 10]

Without `--model` it builds the tiny GPT-2 (`sandbox_images/tiny_model.py`) first.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT / "sandbox_images" / "harness" / "run.py"
TASKS = ROOT / "sandbox_images" / "lm_eval_tasks"
SHIPPED_TASKS = ["evalpod_arith", "evalpod_capitals", "evalpod_sentences"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def run_once(spec: dict[str, object], workdir: Path) -> float:
    """Wall seconds of one harness process; raises if the job did not succeed."""
    result = workdir / "result.json"
    spec_path = workdir / "spec.json"
    spec_path.write_text(json.dumps({**spec, "result_path": str(result)}))
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-I", str(HARNESS), str(spec_path)], cwd=workdir,
                          env=ENV, capture_output=True, text=True, timeout=900)
    elapsed = time.perf_counter() - started
    outcome = json.loads(result.read_text()) if result.exists() else {}
    if done.returncode != 0 or not outcome.get("ok"):
        raise RuntimeError(f"job failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed


def jobs(model: Path, limit: int) -> dict[str, dict[str, object]]:
    found: dict[str, dict[str, object]] = {
        f"examples/{path.name}": {"kind": "script", "script_path": str(path),
                                  "model_path": str(model), "seed": 1234}
        for path in sorted((ROOT / "examples").glob("*.py"))
    }
    found[f"lm_eval {'+'.join(SHIPPED_TASKS)} limit={limit}"] = {
        "kind": "lm_eval", "tasks": SHIPPED_TASKS, "task_include_path": str(TASKS),
        "limit": limit, "model_path": str(model), "seed": 1234,
    }
    return found


def measure(spec: dict[str, object], repeats: int, scratch: Path) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"off": [], "on": []}
    for round_ in range(repeats):
        # Alternate which side goes first, so a warming page cache favours neither.
        order = ("off", "on") if round_ % 2 == 0 else ("on", "off")
        for side in order:
            workdir = Path(tempfile.mkdtemp(dir=scratch))
            times[side].append(run_once({**spec, "guard": side == "on"}, workdir))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=10, help="lm-eval samples per task")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="guard-bench-") as tmp:
        scratch = Path(tmp)
        model = args.model
        if model is None:
            model = scratch / "tiny-gpt2"
            subprocess.run([sys.executable, str(ROOT / "sandbox_images" / "tiny_model.py"),
                            str(model)], check=True, capture_output=True)
        print(f"{'job':<58} {'off med':>8} {'on med':>8} {'off min':>8} {'on min':>8} "
              f"{'overhead':>9}")
        overheads = []
        for name, spec in jobs(model, args.limit).items():
            times = measure(spec, args.repeats, scratch)
            off, on = statistics.median(times["off"]), statistics.median(times["on"])
            overhead = (on - off) / off * 100
            overheads.append(overhead)
            print(f"{name:<58} {off:8.2f} {on:8.2f} {min(times['off']):8.2f} "
                  f"{min(times['on']):8.2f} {overhead:+8.1f}%", flush=True)
        print(f"median overhead over {len(overheads)} jobs: {statistics.median(overheads):+.1f}% "
              f"({args.repeats} runs per side, medians of wall time, target within 3 %)")


if __name__ == "__main__":
    main()
