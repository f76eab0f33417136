"""A whole evalpod as separate processes, and the chaos run against it.

`run_chaos` starts its own Redis server and the API, validator, orchestrator and monitor
as `evalpod` processes (through `tests.chaos.faulty`, so their database writes can fail
at random), submits a stream of evaluations with mixed outcomes, and meanwhile SIGKILLs
and restarts processes at random, restarts Redis (everything queued is lost) and, with a
private PostgreSQL, restarts the database. Then it waits for every evaluation to be
terminal and checks the database: none lost, none stuck, one completion each, every
transition recorded. Used by `tests/chaos/` (CI-sized) and `bench/chaos.py` (long).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from evalpod.db import Database

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("api", "validator", "orchestrator", "monitor")
TERMINAL = {"validation_failed", "succeeded", "failed", "killed", "cancelled"}
REAL_RUN = "model.model.config.n_embd == 96"  # tiny-gpt2 itself, not its trial shadow

# What each kind of submission must end as (a run lost `max_attempts` times may also end
# `failed`, with a reason that says so: counted apart).
WORKLOAD: dict[str, tuple[str, dict[str, Any], set[str]]] = {
    "ok": ('''
import time
def evaluate_model(model):
    print("working", flush=True)
    time.sleep(1)
    return {"accuracy": 1.0}
''', {}, {"succeeded"}),
    "nul": ('''
def evaluate_model(model):
    print("a NUL \\x00 here", flush=True)
    return {"note": "nul \\x00"}
''', {}, {"succeeded"}),
    "run_fails": (f'''
def evaluate_model(model):
    if {REAL_RUN}:
        raise Exception("only in the real run \\x00")
    return {{"accuracy": 0.0}}
''', {}, {"failed"}),
    "rejected": ('''
def evaluate_model(model):
    raise Exception("always \\x00")
''', {}, {"validation_failed"}),
    "timeout": (f'''
import time
def evaluate_model(model):
    while {REAL_RUN}:
        time.sleep(0.2)
    return {{"accuracy": 0.0}}
''', {"timeout_s": 4}, {"killed"}),
    "cancelled": (f'''
import time
def evaluate_model(model):
    for _ in range(600 if {REAL_RUN} else 1):
        time.sleep(0.1)
    return {{"accuracy": 0.0}}
''', {"timeout_s": 300}, {"cancelled"}),
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """A redis-server of our own (never the machine's): restarting it loses everything."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            with contextlib.suppress(OSError), socket.create_connection(
                    ("127.0.0.1", self.port), timeout=0.2):
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


class PrivatePostgres:
    """A PostgreSQL cluster in a temp dir (initdb + pg_ctl): ours to restart, never the
    machine's shared one. None of its binaries → `available()` is False."""

    def __init__(self, workdir: Path) -> None:
        self.bindir = _pg_bindir()
        self.datadir = workdir / "pgdata"
        self.port = free_port()

    @staticmethod
    def available() -> bool:
        return (_pg_bindir() is not None and os.geteuid() != 0) or _can_run_as_postgres()

    def _run(self, *args: str) -> None:
        assert self.bindir is not None
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:  # initdb refuses root: run as the postgres user
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True)

    def init(self) -> None:
        self.datadir.parent.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.datadir.parent, "postgres")
        self._run("initdb", "-D", str(self.datadir), "-A", "trust", "-U", "postgres")
        self.start()

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.datadir), "-w", "-l", str(self.datadir / "log"),
                  "-o", f"-p {self.port} -k /tmp -c listen_addresses=127.0.0.1", "start")

    def restart(self) -> None:
        self._run("pg_ctl", "-D", str(self.datadir), "-w", "-m", "immediate", "stop")
        self.start()

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.datadir), "-w", "-m", "immediate", "stop")

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


def _pg_bindir() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "pg_ctl").exists():
            return candidate
    return None


def _can_run_as_postgres() -> bool:
    return shutil.which("runuser") is not None and _pg_bindir() is not None


@dataclass
class ChaosConfig:
    submissions: int = 12
    submit_interval_s: float = 0.5
    chaos_s: float = 60.0  # chaos lasts this long at least (and until the last submission)
    kill_interval_s: tuple[float, float] = (3.0, 8.0)
    redis_restarts: bool = True
    postgres_restarts: bool = False
    write_fault_p: float = 0.02
    terminal_bound_s: float = 300.0
    seed: int = 0
    kinds: tuple[str, ...] = tuple(WORKLOAD)


@dataclass
class Report:
    """What the run did and what the database holds at the end."""

    submitted: int = 0
    accepted: dict[str, str] = field(default_factory=dict)  # evaluation id -> kind
    kills: Counter[str] = field(default_factory=Counter)
    crash_restarts: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    by_kind: dict[str, Counter[str]] = field(default_factory=dict)  # kind -> status -> n
    lost: int = 0  # accepted but not in the database
    double_completions: int = 0  # evaluations with more than one terminal transition
    transitions: int = 0  # transition rows checked for an unbroken chain
    lost_runs_failed: int = 0
    requeues: int = 0
    hand_backs: int = 0
    to_terminal_s: list[float] = field(default_factory=list)
    settle_s: float = 0.0
    chaos_s: float = 0.0
    logs: str = ""
    problems: list[str] = field(default_factory=list)

    def p95_s(self) -> float:
        spans = sorted(self.to_terminal_s) or [0.0]
        return spans[min(len(spans) - 1, math.ceil(0.95 * len(spans)) - 1)]

    def table(self, config: ChaosConfig) -> str:
        """The figures as a Markdown table (for a closing note)."""
        spans = sorted(self.to_terminal_s) or [0.0]
        kinds = "; ".join(f"{kind}: " + ", ".join(f"{n} {status}"
                                                   for status, n in sorted(counts.items()))
                          for kind, counts in sorted(self.by_kind.items()))
        rows = [
            ("submissions (accepted / sent)", f"{len(self.accepted)} / {self.submitted}"),
            ("outcomes per kind", kinds),
            ("outcomes", ", ".join(f"{n} {s}" for s, n in sorted(self.outcomes.items()))),
            ("SIGKILLs per process", ", ".join(f"{role} {self.kills[role]}" for role in ROLES)),
            ("Redis / PostgreSQL restarts",
             f"{self.kills['redis']} / {self.kills['postgres']}"),
            ("crash restarts (supervisor)",
             ", ".join(f"{r} {n}" for r, n in sorted(self.crash_restarts.items())) or "0"),
            ("DB write fault probability", f"{config.write_fault_p:g}"),
            ("re-queues / worker hand-backs / failed as lost",
             f"{self.requeues} / {self.hand_backs} / {self.lost_runs_failed}"),
            ("accept→terminal s: median / p95 / max (bound)",
             f"{statistics.median(spans):.0f} / {self.p95_s():.0f} / {spans[-1]:.0f} "
             f"({config.terminal_bound_s:.0f} after the chaos)"),
            ("chaos / settle s", f"{self.chaos_s:.0f} / {self.settle_s:.0f}"),
            ("lost", str(self.lost)),
            ("double completions", str(self.double_completions)),
            ("transitions verified", str(self.transitions)),
            ("problems", str(len(self.problems))),
        ]
        return "\n".join(["| figure | value |", "|---|---|",
                          *(f"| {name} | {value} |" for name, value in rows)])

    def figures(self) -> str:
        spans = sorted(self.to_terminal_s) or [0.0]
        return "\n".join([
            f"submitted {self.submitted}, accepted {len(self.accepted)}, "
            f"outcomes {dict(self.outcomes)}",
            f"kills {dict(self.kills)}, crash restarts {dict(self.crash_restarts)}",
            f"re-queues {self.requeues}, worker hand-backs {self.hand_backs}, "
            f"failed as lost {self.lost_runs_failed}",
            f"lost {self.lost}, double completions {self.double_completions}, "
            f"transitions verified {self.transitions}",
            f"accept→terminal s: median {statistics.median(spans):.1f}, "
            f"p95 {self.p95_s():.1f}, max {spans[-1]:.1f}; "
            f"chaos {self.chaos_s:.0f} s, settled {self.settle_s:.0f} s after it",
            f"problems: {len(self.problems)}" + "".join(f"\n  - {p}" for p in self.problems),
            f"process logs: {self.logs}",
        ])


class Cluster:
    """The four roles as processes over one database and one Redis server of ours."""

    def __init__(self, dsn: str, redis: RedisServer, home: Path, write_fault_p: float,
                 logs: Path) -> None:
        self.dsn = dsn
        self.redis = redis
        self.home = home
        self.logs = logs
        self.api_port = free_port()
        self.write_fault_p = write_fault_p
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.expected_down: set[str] = set()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}/api/v1"

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items()
               if not key.startswith("EVALPOD_")}
        env.update({
            "EVALPOD_DATABASE_URL": self.dsn, "EVALPOD_REDIS_URL": self.redis.url,
            "EVALPOD_HOME": str(self.home), "EVALPOD_WORKER_LIVENESS_TTL_S": "3",
            "EVALPOD_WORKER_HEARTBEAT_S": "0.5", "EVALPOD_RECONCILE_INTERVAL_S": "1",
            "EVALPOD_RATE_PER_MINUTE": "100000", "EVALPOD_RATE_BURST_PER_SECOND": "10000",
            "EVALPOD_MAX_LIVE_EVALUATIONS": "10000", "EVALPOD_TRIAL_TIMEOUT_S": "180",
            "EVALPOD_CHAOS_WRITE_FAULT_P": str(self.write_fault_p),
            "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
        })
        return env

    def start(self, role: str) -> None:
        args = ["api", "--port", str(self.api_port)] if role == "api" else [role]
        log = (self.logs / f"{role}.log").open("ab")
        self.processes[role] = subprocess.Popen(
            [sys.executable, "-m", "tests.chaos.faulty", *args], cwd=ROOT, env=self.env(),
            stdout=log, stderr=subprocess.STDOUT)
        self.expected_down.discard(role)

    def kill(self, role: str) -> None:
        self.expected_down.add(role)
        process = self.processes.get(role)
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()

    def restart_crashed(self, report: Report) -> None:
        """A supervisor's job (systemd, Kubernetes): a process that died is started again."""
        for role, process in self.processes.items():
            if role not in self.expected_down and process.poll() is not None:
                report.crash_restarts[role] += 1
                self.start(role)

    def stop_all(self) -> None:
        for role in list(self.processes):
            process = self.processes[role]
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def _seed(dsn: str, tiny_model_dir: Path) -> str:
    from evalpod.db import Database
    from evalpod.keys import Role, create_key
    from evalpod.registry import register_model

    database = Database(dsn)
    try:
        async with database.session() as session:
            await register_model(session, tiny_model_dir, "tiny-gpt2", model_id="tiny-gpt2")
            _, key = await create_key(session, "chaos", Role.submitter)
    finally:
        await database.dispose()
    return key


async def _retrying(call: Any, deadline: float) -> httpx.Response | None:
    """`call()` until it answers below 500 (the API may be down or failing writes)."""
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            response: httpx.Response = await call()
            if response.status_code < 500:
                return response
        await asyncio.sleep(0.5)
    return None


async def _submit_all(client: httpx.AsyncClient, config: ChaosConfig, rng: random.Random,
                      report: Report, started: dict[str, float]) -> None:
    cancels = []
    for index in range(config.submissions):
        kind = config.kinds[index % len(config.kinds)]
        script, run_config, _ = WORKLOAD[kind]
        body = {"model_id": "tiny-gpt2", "script": script, "idempotency_key": f"chaos-{index}",
                "config": {"timeout_s": 120, **run_config}}
        report.submitted += 1
        response = await _retrying(lambda body=body: client.post("/evaluations", json=body),
                                   time.monotonic() + 120)
        if response is None or response.status_code not in (200, 202):
            report.problems.append(f"submission {index} ({kind}) never accepted: "
                                   f"{response.text[:200] if response is not None else 'down'}")
            continue
        evaluation_id = response.json()["evaluation_id"]
        report.accepted[evaluation_id] = kind
        started.setdefault(evaluation_id, time.monotonic())
        if kind == "cancelled":
            cancels.append(asyncio.create_task(_cancel_later(client, evaluation_id, rng)))
        await asyncio.sleep(config.submit_interval_s * rng.uniform(0.5, 1.5))
    await asyncio.gather(*cancels)


async def _cancel_later(client: httpx.AsyncClient, evaluation_id: str,
                        rng: random.Random) -> None:
    await asyncio.sleep(rng.uniform(2, 20))
    await _retrying(lambda: client.post(f"/evaluations/{evaluation_id}/cancel"),
                    time.monotonic() + 300)


async def _chaos(cluster: Cluster, redis: RedisServer, postgres: PrivatePostgres | None,
                 config: ChaosConfig, rng: random.Random, report: Report,
                 stop: asyncio.Event) -> None:
    actions = [*ROLES] + (["redis"] if config.redis_restarts else []) + (
        ["postgres"] if postgres is not None and config.postgres_restarts else [])
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), rng.uniform(*config.kill_interval_s))
        if stop.is_set():
            break
        action = rng.choice(actions)
        report.kills[action] += 1
        if action == "redis":
            redis.kill()
            await asyncio.sleep(rng.uniform(0.2, 2))
            redis.start()
        elif action == "postgres":
            assert postgres is not None
            await asyncio.to_thread(postgres.restart)
        else:
            cluster.kill(action)
            await asyncio.sleep(rng.uniform(0.2, 3))
            cluster.start(action)


async def _watchdog(cluster: Cluster, report: Report, stop: asyncio.Event) -> None:
    while not stop.is_set():
        cluster.restart_crashed(report)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


async def _statuses(db: Database, ids: list[str]) -> dict[str, str]:
    from sqlalchemy import select

    from evalpod.orm import Evaluation

    async with db.session() as session:
        rows = await session.execute(select(Evaluation.id, Evaluation.status)
                                     .where(Evaluation.id.in_(ids)))
        return {row[0]: row[1] for row in rows}


async def _settle(cluster: Cluster, db: Database, report: Report, config: ChaosConfig,
                  started: dict[str, float]) -> None:
    deadline = time.monotonic() + config.terminal_bound_s
    finished: dict[str, float] = {}
    ids = list(report.accepted)
    statuses: dict[str, str] = {}
    while time.monotonic() < deadline:
        cluster.restart_crashed(report)
        try:
            statuses = await _statuses(db, ids)
        except Exception:  # the database may be restarting: ask again
            await asyncio.sleep(1)
            continue
        now = time.monotonic()
        for evaluation_id, status in statuses.items():
            if status in TERMINAL:
                finished.setdefault(evaluation_id, now)
        if len(finished) == len(ids):
            break
        await asyncio.sleep(1)
    report.to_terminal_s = [finished[i] - started[i] for i in finished if i in started]
    for evaluation_id in ids:
        if evaluation_id not in finished:
            report.problems.append(
                f"{evaluation_id} ({report.accepted[evaluation_id]}) still "
                f"{statuses.get(evaluation_id, '?')} {config.terminal_bound_s:.0f} s after the "
                "chaos")


async def check_database(db: Database, report: Report, max_attempts: int) -> None:
    """The invariants, from the database alone."""
    from sqlalchemy import select

    from evalpod.orm import Evaluation, EvaluationTransition, Tenant

    async with db.session() as session:
        tenant = await session.scalar(select(Tenant.id).where(Tenant.name == "chaos"))
        evaluations = list(await session.scalars(
            select(Evaluation).where(Evaluation.tenant_id == tenant)))
        transitions = list(await session.scalars(
            select(EvaluationTransition).order_by(EvaluationTransition.id)))
    by_evaluation: dict[str, list[EvaluationTransition]] = {}
    for row in transitions:
        by_evaluation.setdefault(row.evaluation_id, []).append(row)
    stored = {e.id for e in evaluations}
    for missing in set(report.accepted) - stored:
        report.lost += 1
        report.problems.append(f"{missing}: accepted but not in the database (lost)")
    for extra in stored - set(report.accepted):
        report.problems.append(f"{extra}: in the database but never accepted (duplicate?)")
    for evaluation in evaluations:
        kind = report.accepted.get(evaluation.id, "?")
        chain = by_evaluation.get(evaluation.id, [])
        report.outcomes[evaluation.status] += 1
        report.by_kind.setdefault(kind, Counter())[evaluation.status] += 1
        report.transitions += len(chain)
        report.double_completions += sum(r.to_status in TERMINAL for r in chain) > 1
        report.requeues += sum(r.reason.startswith("re-queued") for r in chain)
        report.hand_backs += sum("error:" in r.reason for r in chain)
        problems = _chain_problems(evaluation.status, chain)
        if evaluation.attempts > max_attempts:
            problems.append(f"ran {evaluation.attempts} times (max {max_attempts})")
        expected = WORKLOAD[kind][2] if kind in WORKLOAD else set()
        lost = evaluation.status == "failed" and "lost" in (evaluation.error or "")
        report.lost_runs_failed += lost
        if evaluation.status in TERMINAL and evaluation.status not in expected and not lost:
            problems.append(f"ended {evaluation.status}, expected {sorted(expected)}: "
                            f"{(evaluation.error or '')[:200]} {evaluation.violation or ''}")
        if evaluation.status not in TERMINAL:
            age = (datetime.now(UTC) - evaluation.updated_at).total_seconds()
            problems.append(f"live: owner {evaluation.owner}, last change {age:.0f} s ago, "
                            f"last reason {chain[-1].reason[:120] if chain else '-'}")
        report.problems += [f"{evaluation.id} ({kind}): {p}" for p in problems]


def _chain_problems(status: str, chain: list[Any]) -> list[str]:
    problems = []
    if not chain or chain[0].from_status is not None:
        problems.append("first transition missing")
    for previous, following in itertools.pairwise(chain):
        if following.from_status != previous.to_status:
            problems.append(f"transition gap: {previous.to_status} then "
                            f"{following.from_status}→{following.to_status}")
    terminal = [r for r in chain if r.to_status in TERMINAL]
    if status in TERMINAL and (len(terminal) != 1 or chain[-1].to_status != status):
        problems.append(f"{len(terminal)} terminal transitions for one evaluation")
    if chain and chain[-1].to_status != status:
        problems.append(f"status {status} but last transition to {chain[-1].to_status}")
    completions = sum(r.from_status == "executing" and r.to_status == "succeeded" for r in chain)
    if completions > 1:
        problems.append(f"completed {completions} times")
    return problems


async def run_chaos(config: ChaosConfig, tiny_model_dir: Path, *, dsn: str | None = None,
                    workdir: Path | None = None) -> Report:
    """One chaos run; `dsn` (a migrated, empty database) or a private PostgreSQL."""
    from evalpod.migrate import upgrade

    rng = random.Random(config.seed)
    report = Report()
    workdir = workdir or Path(tempfile.mkdtemp(prefix="evalpod-chaos-"))
    (workdir / "logs").mkdir(parents=True, exist_ok=True)
    report.logs = str(workdir / "logs")
    postgres: PrivatePostgres | None = None
    if dsn is None:
        postgres = PrivatePostgres(workdir)
        await asyncio.to_thread(postgres.init)
        dsn = f"postgresql+asyncpg://postgres@127.0.0.1:{postgres.port}/postgres"
        await asyncio.to_thread(upgrade, dsn)
    key = await _seed(dsn, tiny_model_dir)
    db = Database(dsn)
    redis = RedisServer(workdir)
    redis.start()
    cluster = Cluster(dsn, redis, workdir / "home", config.write_fault_p, workdir / "logs")
    for role in ROLES:
        cluster.start(role)
    stop = asyncio.Event()
    started: dict[str, float] = {}
    began = time.monotonic()
    try:
        async with httpx.AsyncClient(base_url=cluster.api_url, timeout=30,
                                     headers={"Authorization": f"Bearer {key}"}) as client:
            chaos = asyncio.create_task(_chaos(cluster, redis, postgres, config, rng, report,
                                               stop))
            watchdog = asyncio.create_task(_watchdog(cluster, report, stop))
            await _retrying(lambda: client.get("/health"), time.monotonic() + 120)
            await _submit_all(client, config, rng, report, started)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(chaos),
                                       max(0.0, config.chaos_s - (time.monotonic() - began)))
            stop.set()
            await asyncio.gather(chaos, watchdog)
        report.chaos_s = time.monotonic() - began
        for role in ROLES:  # every role back, faults on as before
            if cluster.processes[role].poll() is not None:
                cluster.start(role)
        settle_began = time.monotonic()
        await _settle(cluster, db, report, config, started)
        report.settle_s = time.monotonic() - settle_began
        await check_database(db, report, max_attempts=3)
    finally:
        cluster.stop_all()
        redis.kill()
        await db.dispose()
        if postgres is not None:
            await asyncio.to_thread(postgres.stop)
    return report


def new_label() -> str:
    return uuid.uuid4().hex[:8]
