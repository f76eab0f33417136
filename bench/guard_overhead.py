"""What the runtime guard costs: guarded vs unguarded wall time of real jobs.

Runs the in-sandbox harness (`python -I run.py spec.json`, the same process a sandbox
runs, without bubblewrap around it: the guard's cost does not depend on it) on every
example in `examples/` and on an lm-eval job over the shipped tasks, each `--repeats`
times with the guard armed and unarmed, interleaved so that load drift hits both alike.
Two figures per side: the whole process's wall time, and the job phase (from the
harness's "runtime guard armed/off" line, after imports and the model load, to the
result file being written): the only part the guard can slow down, and the part that
start-up noise on a busy host does not drown. Medians and minima, and the overhead of
the medians (target: within 3 %).

    python bench/guard_overhead.py [--repeats 5] [--model DIR] [--limit 10] [--only NAME]

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


def run_once(spec: dict[str, object], workdir: Path) -> tuple[float, float]:
    """(process wall s, job phase s) of one harness run; raises if the job failed."""
    result = workdir / "result.json"
    spec_path = workdir / "spec.json"
    spec_path.write_text(json.dumps({**spec, "result_path": str(result)}))
    started = time.time()
    phase_start = None
    lines: list[str] = []
    with subprocess.Popen([sys.executable, "-I", str(HARNESS), str(spec_path)], cwd=workdir,
                          env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as process:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if phase_start is None and line.startswith("[evalpod] runtime guard "):
                phase_start = time.time()
        returncode = process.wait(timeout=900)
    elapsed = time.time() - started
    outcome = json.loads(result.read_text()) if result.exists() else {}
    if returncode != 0 or not outcome.get("ok") or phase_start is None:
        raise RuntimeError(f"job failed ({returncode}): {''.join(lines)[-2000:]}")
    return elapsed, result.stat().st_mtime - phase_start


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


def measure(
    spec: dict[str, object], repeats: int, scratch: Path
) -> dict[str, list[tuple[float, float]]]:
    times: dict[str, list[tuple[float, float]]] = {"off": [], "on": []}
    for round_ in range(repeats):
        # Alternate which side goes first, so a warming page cache favours neither.
        order = ("off", "on") if round_ % 2 == 0 else ("on", "off")
        for side in order:
            workdir = Path(tempfile.mkdtemp(dir=scratch))
            times[side].append(run_once({**spec, "guard": side == "on"}, workdir))
    return times


def row(name: str, off: list[float], on: list[float]) -> float:
    off_med, on_med = statistics.median(off), statistics.median(on)
    overhead = (on_med - off_med) / off_med * 100
    print(f"{name:<62} {off_med:8.2f} {on_med:8.2f} {min(off):8.2f} {min(on):8.2f} "
          f"{overhead:+8.1f}%", flush=True)
    return overhead


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=10, help="lm-eval samples per task")
    parser.add_argument("--only", default="",
                        help="only the jobs whose name contains this (e.g. qa_exact_match)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="guard-bench-") as tmp:
        scratch = Path(tmp)
        model = args.model
        if model is None:
            model = scratch / "tiny-gpt2"
            subprocess.run([sys.executable, str(ROOT / "sandbox_images" / "tiny_model.py"),
                            str(model)], check=True, capture_output=True)
        print(f"{'job (seconds)':<62} {'off med':>8} {'on med':>8} {'off min':>8} "
              f"{'on min':>8} {'overhead':>9}")
        whole, phase = [], []
        for name, spec in jobs(model, args.limit).items():
            if args.only not in name:
                continue
            times = measure(spec, args.repeats, scratch)
            whole.append(row(f"{name} [process]", [t[0] for t in times["off"]],
                             [t[0] for t in times["on"]]))
            phase.append(row(f"{name} [job phase]", [t[1] for t in times["off"]],
                             [t[1] for t in times["on"]]))
        print(f"median overhead over {len(whole)} jobs ({args.repeats} runs per side): "
              f"process {statistics.median(whole):+.1f}%, job phase "
              f"{statistics.median(phase):+.1f}% (target within 3 %)")


if __name__ == "__main__":
    main()
