"""Benchmark static validation on realistic 50- and 1,000-line scripts (run by hand).

    python bench/validate.py [--runs 50] [--trial-runs 10]
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import gc
import io
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bandit.core import config as b_config  # noqa: E402
from bandit.core import manager as b_manager  # noqa: E402

from validator import analysis, bandit_scan  # noqa: E402
from validator.policy.engine import run_policy  # noqa: E402
from validator.screen import parse_script, quick_screen  # noqa: E402

BENIGN = ROOT / "tests" / "corpus" / "benign"
RUNS = 50


def realistic_script(lines: int) -> str:
    """Benign corpus scripts, renamed apart, until `lines` lines; one real entrypoint."""
    parts: list[str] = []
    files = sorted(BENIGN.glob("*.py"))
    copy = 0
    while sum(p.count("\n") for p in parts) < lines:
        text = files[copy % len(files)].read_text()
        parts.append(_renamed_apart(text, copy))
        copy += 1
    source = "\n".join(parts)
    # Cut after the last whole top-level statement that fits, so the result still parses.
    end = max(s.end_lineno or 0 for s in ast.parse(source).body
              if (s.end_lineno or 0) <= lines - 3)
    kept = "\n".join(source.splitlines()[:end])
    return kept + "\n\ndef evaluate_model(model):\n    return {}\n"


def _renamed_apart(text: str, copy: int) -> str:
    """`text` with each of its top-level names suffixed `_<copy>`: the corpus files are
    separate scripts, and two of them defining `Config` would otherwise make one program
    whose second class replaces the first under the other file's uses."""
    names = set()
    for statement in ast.parse(text).body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(statement.name)
        elif isinstance(statement, ast.Assign | ast.AnnAssign):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    for name in sorted(names, key=len, reverse=True):
        text = re.sub(rf"(?<![.\w]){re.escape(name)}\b", f"{name}_{copy}", text)
    return text


def percentiles(
    fn: Callable[[], object], runs: int = RUNS, *, worker_gc: bool = True
) -> tuple[float, float]:
    """p50/p95 in ms. `worker_gc`: as in the analysis worker, the cyclic GC is paused during a
    run and the previous run's garbage is collected before it, off the clock."""
    fn()  # warm
    samples = []
    for _ in range(runs):
        if worker_gc:
            gc.collect()
        with analysis.collection_deferred() if worker_gc else contextlib.nullcontext():
            started = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


def fresh_bandit(source: str) -> None:
    """What a per-script BanditManager would cost (bandit_scan caches one per process)."""
    conf = b_config.BanditConfig()
    manager = b_manager.BanditManager(conf, "file", quiet=True, ignore_nosec=True)
    bandit_scan._reset(manager)
    manager._parse_file("<script>", io.BytesIO(source.encode()), ["<script>"])


def rows(source: str) -> dict[str, tuple[Callable[[], object], bool]]:
    """name -> (what to time, whether under the worker's GC regime)."""
    tree = parse_script(source)
    return {
        "parse_script": (lambda: parse_script(source), True),
        "quick_screen": (lambda: quick_screen(tree), True),
        "policy (ast + symtable)": (lambda: run_policy(source, None, tree), True),
        "bandit (cached manager)": (lambda: bandit_scan.scan(source), True),
        "bandit (fresh manager)": (lambda: fresh_bandit(source), True),
        "run_analysers (in-process)": (lambda: analysis.run_analysers(source), True),
        "run_analysers (default GC)": (lambda: analysis.run_analysers(source), False),
        "analyse_script (workers)": (lambda: analysis.analyse_script(source), False),
    }


TRIAL_SCRIPT = """
def evaluate_model(model):
    answers = model.generate(["2+2=", "capital of France:"], max_new_tokens=4)
    scores = model.loglikelihood([("2+2=", "4"), ("2+2=", "5")])
    return {"n": len(answers), "best": max(s for s, _ in scores)}
"""


def _own_run_ms(source: str) -> float:
    """The script's own time: exec + evaluate_model on the stub, in-process, no sandbox."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sandbox_images/harness"))
    from stub_model import StubModel

    started = time.perf_counter()
    namespace: dict[str, object] = {}
    exec(compile(source, "trial", "exec"), namespace)
    namespace["evaluate_model"](StubModel())  # type: ignore[operator]
    return (time.perf_counter() - started) * 1000


def trial_overhead(runs: int = 10) -> tuple[float, float, float]:
    """Median trial-run wall time through the real local sandbox, and the overhead beyond the
    script's own run time (sandbox start, harness, result hand-off, clean-up)."""
    import asyncio

    from evalpod.settings import get_settings
    from orchestrator.sandbox import get_backend
    from validator.trial import run_trial

    async def once() -> float:
        started = time.perf_counter()
        report = await run_trial(get_backend("local"), "bench", TRIAL_SCRIPT, get_settings())
        assert report.passed, report
        return (time.perf_counter() - started) * 1000

    async def many() -> list[float]:
        await once()
        return [await once() for _ in range(runs)]

    trial = statistics.median(asyncio.run(many()))
    own = statistics.median(_own_run_ms(TRIAL_SCRIPT) for _ in range(runs))
    return trial, own, trial - own


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS, help="runs per in-process row")
    parser.add_argument("--trial-runs", type=int, default=10,
                        help="sandboxed trial runs (0: skip the trial row)")
    args = parser.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {load}")
    print(f"{args.runs} runs each after one warm-up, times in ms (p50 / p95); in-process rows run")
    print("as in the analysis worker: cyclic GC paused during a run, collected between runs")
    for lines in (50, 1000):
        source = realistic_script(lines)
        report = analysis.run_analysers(source)
        print(f"\n{lines}-line script ({len(source)} bytes)")
        if report.blocked:
            # Separate benign scripts joined into one program can meet a conservative rule
            # none of them meets alone (one's keyword-driven setattr, another's `**` call):
            # said, not hidden; every analyser still runs in full, so the times stand.
            refused = sorted({f"{f.rule} line {f.line}" for f in report.findings
                              if f.severity == "error"})
            print(f"  (refused as one program: {', '.join(refused[:6])})")
        for name, (fn, worker_gc) in rows(source).items():
            p50, p95 = percentiles(fn, args.runs, worker_gc=worker_gc)
            print(f"  {name:<28} {p50:8.2f} / {p95:8.2f}")
    big = realistic_script(20_000)[: 256 * 1024].rsplit("\n\ndef ", 1)[0]
    big_tree = parse_script(big)
    p50, p95 = percentiles(lambda: parse_script(big), 10)
    print(f"\n256 KiB ({big.count(chr(10))} lines): parse_script {p50:.1f} / {p95:.1f}")
    p50, p95 = percentiles(lambda: quick_screen(big_tree), 10)
    print(f"256 KiB: quick_screen {p50:.1f} / {p95:.1f}")
    analysis.shutdown()
    if args.trial_runs <= 0:
        return
    trial, own, overhead = trial_overhead(args.trial_runs)
    print(f"\ntrial run (local sandbox, stub model), median of {args.trial_runs}: {trial:.0f} ms; "
          f"script's own time {own:.2f} ms; overhead {overhead:.0f} ms")


if __name__ == "__main__":
    main()
