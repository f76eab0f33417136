"""Run the script corpora through the real validation stages (run by hand).

    python bench/corpora.py [--sandbox] [--all-in-sandbox] [--model-path DIR] [--json]

Stages, in the order a submission meets them:
1. submit: the API's synchronous checks (`api.evaluation_service.script_findings`: size,
   parse, the AST screen); a blocking finding is a 400 at submit.
2. deep: the validator's `analyse_script` (AST screen, policy engine, bandit) in its worker
   processes, with the default tenant policy.
3. with --sandbox: what passed both runs in the configured sandbox backend, runtime guard
   armed, on the tiny-gpt2 model (built on first use, or --model-path): `killed` with a
   `policy` violation is "stopped by the guard", another kill "stopped by the sandbox",
   an error "failed", success "let through". --all-in-sandbox also runs what static
   analysis refused, to see what the guard alone would do.

Per corpus it prints, for hostile corpora: rejected at submit / rejected by deep analysis /
stopped by the guard / let through; for benign ones: accepted / rejected with the rules
(and, with --sandbox, whether each accepted case succeeded).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.evaluation_service import script_findings  # noqa: E402
from api.schemas import EvaluationCreate  # noqa: E402
from evalpod.errors import EvalpodError  # noqa: E402
from evalpod.settings import get_settings  # noqa: E402
from tests.validator.corpus import CORPORA, Case, load_corpora  # noqa: E402
from validator import analysis  # noqa: E402
from validator.findings import blocking  # noqa: E402

TINY_CACHE = Path(os.environ.get("EVALPOD_TEST_CACHE", Path.home() / ".cache" / "evalpod-tests"))


@dataclass
class Outcome:
    case: Case
    submit_rules: list[str] = field(default_factory=list)
    deep_rules: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sandbox: str | None = None  # let_through | stopped_by_guard | stopped_by_sandbox | failed
    sandbox_detail: str = ""

    @property
    def static_stage(self) -> str:
        if self.submit_rules:
            return "submit"
        return "deep" if self.deep_rules else "passed"


def static_stages(case: Case) -> Outcome:
    outcome = Outcome(case)
    text = case.text()
    try:
        quick = script_findings(EvaluationCreate(model_id="tiny-gpt2", script=text),
                                get_settings())
    except EvalpodError as exc:  # INVALID_SCRIPT / PAYLOAD_TOO_LARGE at submit
        outcome.submit_rules = [exc.code]
        return outcome
    outcome.submit_rules = sorted({f.rule for f in blocking(quick)})
    if outcome.submit_rules:
        return outcome
    report = analysis.analyse_script(text, budget_s=30.0)
    outcome.deep_rules = sorted({f.rule for f in blocking(report.findings)})
    outcome.warnings = sorted({f.rule for f in report.findings if f.severity != "error"})
    return outcome


def tiny_model(explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit
    dest = TINY_CACHE / "tiny-gpt2"
    if not (dest / "config.json").exists():
        subprocess.run([sys.executable, str(ROOT / "sandbox_images" / "tiny_model.py"),
                        str(dest)], check=True)
    return dest


async def run_in_sandbox(outcome: Outcome, model_path: Path, timeout_s: float) -> None:
    from orchestrator.sandbox import ResourceLimits, SandboxJob, get_backend

    job = SandboxJob(job_id=f"corpus-{uuid.uuid4().hex[:12]}", script=outcome.case.text(),
                     model_id="tiny-gpt2", model_path=model_path,
                     limits=ResourceLimits(timeout_s=timeout_s, memory_mb=4096, disk_mb=256))

    async def ignore(line: str) -> None:
        return None

    cancel = asyncio.Event()
    try:  # the backend enforces the limit; this only guards the bench against a stuck run
        result = await asyncio.wait_for(get_backend().run(job, ignore, cancel), timeout_s + 120)
    except TimeoutError:
        cancel.set()
        outcome.sandbox, outcome.sandbox_detail = "failed", "bench: the run never returned"
        return
    violation = result.violation
    if result.status == "succeeded":
        outcome.sandbox = "let_through"
    elif result.status == "killed" and violation is not None and violation.kind == "policy":
        outcome.sandbox, outcome.sandbox_detail = "stopped_by_guard", violation.detail
    elif result.status == "killed":
        kind = violation.kind if violation else "?"
        outcome.sandbox, outcome.sandbox_detail = "stopped_by_sandbox", kind
    else:
        outcome.sandbox = "failed"
        outcome.sandbox_detail = (result.error or result.stdout_tail or "")[-160:]


def summarise(outcomes: list[Outcome], sandbox: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for corpus, direction in CORPORA.items():
        mine = [o for o in outcomes if o.case.corpus == corpus]
        if not mine:
            continue
        row: dict[str, Any] = {"corpus": corpus, "direction": direction, "cases": len(mine)}
        if direction == "accept":
            rejected = [o for o in mine if o.static_stage != "passed"]
            row["accepted"] = len(mine) - len(rejected)
            row["rejected"] = {o.case.path.stem: o.submit_rules or o.deep_rules
                               for o in rejected}
            if sandbox:
                row["ran"] = dict(Counter(o.sandbox for o in mine if o.sandbox))
                row["not_succeeded"] = {o.case.path.stem: f"{o.sandbox}: {o.sandbox_detail}"
                                        for o in mine if o.sandbox not in (None, "let_through")}
        else:
            row["rejected_at_submit"] = sum(o.static_stage == "submit" for o in mine)
            row["rejected_by_deep"] = sum(o.static_stage == "deep" for o in mine)
            passed = [o for o in mine if o.static_stage == "passed"]
            row["stopped_by_guard"] = sum(o.sandbox == "stopped_by_guard" for o in passed)
            row["stopped_by_sandbox"] = sum(o.sandbox == "stopped_by_sandbox" for o in passed)
            row["failed_on_its_own"] = sum(o.sandbox == "failed" for o in passed)
            row["let_through"] = sum(o.sandbox in (None, "let_through") for o in passed)
            row["passed_static"] = {o.case.path.stem: o.sandbox or "not run" for o in passed}
            if sandbox:
                row["guard_alone"] = dict(Counter(o.sandbox for o in mine if o.sandbox))
        rows.append(row)
    return rows


def print_table(rows: list[dict[str, Any]], sandbox: bool) -> None:
    hostile = [r for r in rows if r["direction"] != "accept"]
    print(f"{'hostile corpus':<10} {'cases':>5} {'submit':>7} {'deep':>5} {'guard':>6} "
          f"{'sandbox':>8} {'failed':>7} {'let through':>12}")
    for r in hostile:
        print(f"{r['corpus']:<10} {r['cases']:>5} {r['rejected_at_submit']:>7} "
              f"{r['rejected_by_deep']:>5} {r['stopped_by_guard']:>6} "
              f"{r['stopped_by_sandbox']:>8} {r['failed_on_its_own']:>7} {r['let_through']:>12}")
        for name, fate in r["passed_static"].items():
            print(f"    passed static analysis: {name} ({fate})")
    print()
    print(f"{'benign corpus':<10} {'cases':>5} {'accepted':>9} {'rejected':>9}"
          + ("   sandbox runs" if sandbox else ""))
    for r in (r for r in rows if r["direction"] == "accept"):
        runs = f"   {r.get('ran', {})}" if sandbox else ""
        print(f"{r['corpus']:<10} {r['cases']:>5} {r['accepted']:>9} {len(r['rejected']):>9}"
              + runs)
        for name, rules in r["rejected"].items():
            print(f"    rejected: {name} by {', '.join(rules)}")
        for name, why in r.get("not_succeeded", {}).items():
            print(f"    did not succeed: {name}: {why}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox", action="store_true",
                        help="run what passes static analysis in the sandbox, guard armed")
    parser.add_argument("--all-in-sandbox", action="store_true",
                        help="also run hostile cases static analysis refused (guard alone)")
    parser.add_argument("--model-path", type=Path, default=None,
                        help="save_pretrained directory to run against (default tiny-gpt2)")
    parser.add_argument("--jobs", type=int, default=1, help="sandbox runs at a time")
    parser.add_argument("--run-timeout", type=float, default=300.0,
                        help="wall-clock limit of each sandbox run, seconds")
    parser.add_argument("--corpus", action="append", choices=sorted(CORPORA),
                        help="only these corpora (repeatable)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()
    sandbox = args.sandbox or args.all_in_sandbox
    cases = [c for c in load_corpora() if not args.corpus or c.corpus in args.corpus]
    outcomes = [static_stages(case) for case in cases]
    analysis.shutdown()
    if sandbox:
        model_path = tiny_model(args.model_path)
        slots = asyncio.Semaphore(args.jobs)

        async def run(outcome: Outcome) -> None:
            async with slots:
                await run_in_sandbox(outcome, model_path, args.run_timeout)
            print(f"{outcome.case.name}: {outcome.sandbox} {outcome.sandbox_detail}"[:200],
                  file=sys.stderr, flush=True)

        await asyncio.gather(*(
            run(o) for o in outcomes
            if o.static_stage == "passed" or (args.all_in_sandbox and o.case.direction != "accept")
        ))
    rows = summarise(outcomes, sandbox)
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print_table(rows, sandbox)


if __name__ == "__main__":
    asyncio.run(main())
