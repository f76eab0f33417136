"""Static analysis of one script under a hard time budget; every failure is a blocking finding."""

from __future__ import annotations

import ast
import contextlib
import gc
import os
import resource
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import BinaryIO, Final

from pydantic import BaseModel, Field

from validator import bandit_scan
from validator.findings import Finding, blocking
from validator.policy.config import Policy, apply_policy
from validator.policy.engine import run_policy
from validator.policy.rules import rule
from validator.screen import ScriptSyntaxError, parse_script, quick_screen

# A runaway analyser is stopped by killing its process; the address-space cap turns a
# memory blow-up inside the worker into a MemoryError (EP900) instead of host pressure.
WORKER_MEMORY_BYTES: Final = 4 * 1024**3
WORKER_START_TIMEOUT_S: Final = 60.0
MAX_IDLE_WORKERS: Final = 4
# Each group runs in its own worker process at the same time as the other, so the wall time
# is the slower group's (bandit takes about as long as everything else together), not the sum.
WORKER_GROUPS: Final[tuple[tuple[str, ...], ...]] = (("ast_screen", "policy"), ("bandit",))
_WARM_UP_SCRIPT: Final = "import torch\n\n\ndef evaluate_model(model):\n    return {'n': 1}\n"
_ROOT: Final = str(Path(__file__).resolve().parent.parent)
_PYTHONPATH: Final = os.environ.get("PYTHONPATH", "")

Analyser = Callable[[str, ast.Module, Policy], list[Finding]]


class StaticReport(BaseModel):
    """What static analysis concluded about one script."""

    findings: list[Finding]
    blocked: bool
    duration_ms: float
    analysers: dict[str, float] = Field(description="Milliseconds per analyser.")


def _screen(source: str, tree: ast.Module, policy: Policy) -> list[Finding]:
    return quick_screen(tree, source=source)


def _policy(source: str, tree: ast.Module, policy: Policy) -> list[Finding]:
    return run_policy(source, policy, tree)


def _bandit(source: str, tree: ast.Module, policy: Policy) -> list[Finding]:
    return bandit_scan.scan(source)


ANALYSERS: Final[tuple[tuple[str, Analyser], ...]] = (
    ("ast_screen", _screen),
    ("policy", _policy),
    ("bandit", _bandit),
)


def run_analysers(
    source: str, policy: Policy | None = None, only: Collection[str] | None = None
) -> StaticReport:
    """The analysers (all, or those named in `only`) in this process, with no time budget
    (the worker and the bench use it). The cyclic garbage collector is paused meanwhile."""
    policy = policy or Policy()
    with collection_deferred():
        started = time.perf_counter()
        timings: dict[str, float] = {}
        try:
            tree = parse_script(source)
        except ScriptSyntaxError as exc:
            finding = rule("EP001").finding(exc.message, exc.line, exc.column)
            return build_report([finding], policy, started, {"parse": _ms_since(started)})
        timings["parse"] = _ms_since(started)
        findings: list[Finding] = []
        for name, analyser in ANALYSERS:
            if only is not None and name not in only:
                continue
            began = time.perf_counter()
            try:
                findings.extend(analyser(source, tree, policy))
            except Exception as exc:  # any analyser failure must block, never pass
                message = f"analyser `{name}` failed: {type(exc).__name__}: {exc}"[:500]
                findings.append(rule("EP900").finding(message))
            timings[name] = _ms_since(began)
        return build_report(findings, policy, started, timings)


@contextlib.contextmanager
def collection_deferred() -> Iterator[None]:
    """Keep the cyclic garbage collector out of one analysis.

    Parsing a 1,000-line script allocates tens of thousands of objects, and bandit links
    every AST node to its parent, so collections would otherwise fire again and again in the
    middle of a run (bandit's p95 was 3x its median). The worker collects after replying,
    while it waits for the next script; reference counting still frees everything acyclic.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def build_report(
    findings: list[Finding], policy: Policy, started: float, timings: dict[str, float]
) -> StaticReport:
    # One rule at one place is one finding; so is one rule with one message on one line
    # (the submit screen and the policy engine may report a construct at two columns:
    # the statement and its alias). The first column is kept.
    unique: list[Finding] = []
    places: set[tuple[str, int | None, int | None]] = set()
    messages: set[tuple[str, int | None, str]] = set()
    for finding in sorted(findings, key=_position):
        place = (finding.rule, finding.line, finding.column)
        message = (finding.rule, finding.line, finding.message)
        if place not in places and message not in messages:
            unique.append(finding)
        places.add(place)
        messages.add(message)
    kept = sorted(apply_policy(unique, policy), key=_position)
    return StaticReport(
        findings=kept,
        blocked=bool(blocking(kept)),
        duration_ms=_ms_since(started),
        analysers=timings,
    )


def analyse_script(
    source: str, policy: Policy | None = None, budget_s: float = 5.0
) -> StaticReport:
    """Analyse `source` in worker processes (one per group in `WORKER_GROUPS`, side by side),
    all killed at `budget_s`; any failure blocks (EP900/EP901)."""
    policy = policy or Policy()
    started = time.perf_counter()
    workers: list[_Worker] = []
    try:
        for _ in WORKER_GROUPS:
            workers.append(_pool.acquire())
    except Exception as exc:  # no worker means no clearance
        for worker in workers:
            _pool.release(worker)
        return _failed("EP900", f"analysis worker could not start: {exc}", policy, started)
    # Starting a cold worker (bounded by WORKER_START_TIMEOUT_S) is not the script's cost.
    deadline = time.monotonic() + budget_s
    # Every worker gets its script before any reply is awaited, so the groups run side by side.
    failures = [w.send(source, policy, g) for w, g in zip(workers, WORKER_GROUPS, strict=True)]
    outcomes = [
        failure or worker.receive(deadline)
        for worker, failure in zip(workers, failures, strict=True)
    ]
    findings: list[Finding] = []
    timings: dict[str, float] = {}
    for worker, outcome in zip(workers, outcomes, strict=True):
        if isinstance(outcome, StaticReport):
            _pool.release(worker)
            findings.extend(outcome.findings)
            timings = {**outcome.analysers, **timings}
        else:
            worker.kill()
            findings.append(_failure(outcome, budget_s))
    return build_report(findings, policy, started, timings)


def warm_up() -> None:
    """Start the analysis workers one script needs now, so the first script does not wait."""
    workers = [_pool.acquire() for _ in WORKER_GROUPS]
    for worker in workers:
        _pool.release(worker)


def shutdown() -> None:
    """Stop idle analysis workers (for clean process exit)."""
    _pool.close()


def _failed(rule_id: str, message: str, policy: Policy, started: float) -> StaticReport:
    return build_report([rule(rule_id).finding(message)], policy, started, {})


def _failure(outcome: str, budget_s: float) -> Finding:
    if outcome == "timeout":
        return rule("EP901").finding(f"static analysis did not finish within {budget_s:g} s")
    return rule("EP900").finding(f"analysis worker died: {outcome}")


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _position(finding: Finding) -> tuple[int, int, str]:
    return finding.line or 0, finding.column or 0, finding.rule


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Worker process loop: one JSON request line in, one report JSON line out."""
    bandit_scan.warm_up()
    run_analysers(_WARM_UP_SCRIPT)  # first-use costs (imports, caches) before any budget runs
    gc.collect()
    gc.freeze()  # what is alive now lives as long as the process: never traverse it again
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = WORKER_MEMORY_BYTES if hard == resource.RLIM_INFINITY else min(hard, WORKER_MEMORY_BYTES)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    stdout.write(b"ready\n")
    stdout.flush()
    for line in stdin:
        request = _Request.model_validate_json(line)
        report = run_analysers(request.source, request.policy, request.analysers)
        stdout.write(report.model_dump_json().encode() + b"\n")
        stdout.flush()
        gc.collect()  # this script's garbage, while the caller reads the reply


class _Request(BaseModel):
    source: str
    policy: Policy
    analysers: list[str]


class _Worker:
    """One analysis process; the parent enforces the deadline by killing it."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_ROOT, _PYTHONPATH]))}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "validator.analysis_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        self._buffer = b""
        if self._read_line(time.monotonic() + WORKER_START_TIMEOUT_S) != b"ready":
            self.kill()
            raise RuntimeError(f"analysis worker did not start (exit {self._process.poll()})")

    def send(self, source: str, policy: Policy, analysers: Collection[str]) -> str | None:
        """Start analysing `source`; why that failed, or None."""
        request = _Request(source=source, policy=policy, analysers=list(analysers))
        try:
            assert self._process.stdin is not None
            self._process.stdin.write(request.model_dump_json().encode() + b"\n")
            self._process.stdin.flush()
        except OSError as exc:
            return f"{type(exc).__name__} (exit code {self._process.poll()})"
        return None

    def receive(self, deadline: float) -> StaticReport | str:
        """The report, or "timeout", or why the worker died or cannot be trusted any more."""
        try:
            line = self._read_line(deadline)
            if line is None:
                return "timeout" if self._process.poll() is None else self._death()
            if not line:
                return self._death()
            return StaticReport.model_validate_json(line)
        except Exception as exc:  # e.g. a garbled reply
            return f"{type(exc).__name__}: {exc}"[:300]

    def _death(self) -> str:
        return f"exit code {self._process.wait(5)}"

    def _read_line(self, deadline: float) -> bytes | None:
        """One line from the worker; b"" at EOF, None at the deadline."""
        assert self._process.stdout is not None
        fd = self._process.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                return None
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return b""
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line

    def alive(self) -> bool:
        return self._process.poll() is None

    def kill(self) -> None:
        self._process.kill()
        self._process.wait(5)
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):  # unflushed input to a dead worker
                    stream.close()


class _WorkerPool:
    """Idle warm workers; each call takes one, so concurrent callers never share a process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []

    def acquire(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    return worker
        return _Worker()

    def release(self, worker: _Worker) -> None:
        with self._lock:
            if len(self._idle) < MAX_IDLE_WORKERS:
                self._idle.append(worker)
                return
        worker.kill()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()


_pool = _WorkerPool()

