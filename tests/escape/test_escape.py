"""Hostile scripts through the real `evalpod sandbox run --json`, each with a host-side proof.

Every case names the observables that must stay clean after the sandboxed run. Each runs
twice: with the runtime guard armed (the normal case; where the guard has a rule for the
attempt the job must end `killed` with a `policy` violation) and with `--no-guard`, so
the sandbox's own layers (namespaces, seccomp, cgroups) are proven to hold alone. Where
it is safe, the same script also runs unsandboxed and unguarded (the harness straight
under `python`) and the same observables must then trip: that proves each observable can
see the escape.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = Path(__file__).parent / "scripts"
HARNESS = ROOT / "sandbox_images" / "harness" / "run.py"
CLI = "from evalpod.cli import main; main()"


@dataclass(frozen=True)
class Case:
    observables: tuple[str, ...]
    unsandboxed: str | None = None  # None: run it unsandboxed too; else why not
    statuses: tuple[str, ...] = ("succeeded", "failed", "killed")
    violation: str | None = None  # without the guard
    guard_event: str | None = None  # the guard's denial, when it has a rule for this
    timeout_s: float = 2.0


DESTRUCTIVE = "destructive or unbounded on the host"
# ctypes is in sys.modules before the script runs (the guard's exec filter is loaded through
# it, and torch imports it), so the script's `import ctypes` raises no import event: the
# first denied ctypes operation is loading the library.
CTYPES = "ctypes.dlopen"

CASES: dict[str, Case] = {
    # socket and subprocess are already loaded before the script (tqdm.auto brings asyncio;
    # with a real model transformers does the same), so importing them raises no event and
    # the first denial is the operation's own.
    "tcp_egress": Case(("tcp",), guard_event="socket.getaddrinfo"),
    "udp_egress": Case(("udp",), guard_event="socket.__new__"),
    "ipv6_egress": Case(("udp",), guard_event="socket.__new__"),
    "dns_lookup": Case(("udp",), guard_event="socket.__new__"),
    "metadata_service": Case(("tcp",), guard_event="import"),
    "raw_socket_syscall": Case(("tcp",), guard_event=CTYPES),
    "read_home_secret": Case(("token",)),
    "read_proc1_environ": Case(("token",), statuses=("succeeded", "failed"), guard_event="open"),
    "read_other_job": Case(("token",)),
    "read_database": Case(("token",)),
    "read_admin_key": Case(("token",)),
    # Walks the whole runtime (bound under /opt): more than the usual 2 s on a busy host.
    "scan_filesystem": Case(
        ("token",), statuses=("succeeded",), guard_event="os.scandir", timeout_s=30
    ),
    "proc_host_root": Case(("token",), statuses=("succeeded",), guard_event="os.listdir"),
    "proc_sys_write": Case(("token",), statuses=("succeeded",), guard_event="open"),
    "write_outside": Case(("marker",), statuses=("succeeded",), guard_event="open"),
    "overwrite_host_file": Case(("victim_file",)),
    "overwrite_harness": Case(
        ("token", "harness"), unsandboxed="would modify the repo", guard_event="open"
    ),
    "dev_access": Case(("token", "marker"), guard_event="open"),
    "result_symlink": Case(("token",), statuses=("failed",), guard_event="os.symlink"),
    "result_hardlink": Case(("token",), "host-side check only", ("failed",), guard_event="os.link"),
    "result_fifo": Case((), "host-side check only", ("failed",)),
    # Refused by the host's size check (failed) or, with /out capped, as a `disk` kill.
    "result_oversize": Case(
        (), "host-side check only", ("failed", "killed"), guard_event="open"
    ),
    "fork_bomb": Case(("survivors",), DESTRUCTIVE, ("killed",), "processes", guard_event="os.fork"),
    "memory_bomb": Case((), DESTRUCTIVE, ("killed",), "memory"),
    "disk_fill": Case((), DESTRUCTIVE, ("killed",), "disk"),
    "output_flood": Case((), DESTRUCTIVE, ("killed",), "output"),
    "cpu_spin": Case((), DESTRUCTIVE, ("killed",), "timeout"),
    "sleep_past_timeout": Case((), "only waits", ("killed",), "timeout"),
    "double_fork_daemon": Case(("survivors",), statuses=("succeeded",), guard_event="os.fork"),
    "signal_host_process": Case(("victim_pid",), guard_event="os.kill"),
    "kill_all_signal": Case(
        ("victim_pid",), "kill(-1) would take the host down", guard_event="os.kill"
    ),
    "ctypes_raw_syscalls": Case(("victim_pid", "token"), guard_event=CTYPES),
    "ptrace_attach": Case(
        ("victim_pid", "token"), statuses=("killed",), violation="syscall", guard_event=CTYPES
    ),
    "process_vm_readv": Case(
        ("token",), statuses=("killed",), violation="syscall", guard_event=CTYPES
    ),
    "mount_tmpfs": Case(
        ("token",), "would mount over a host path", ("killed",), "syscall", guard_event=CTYPES
    ),
    "unshare_userns": Case(
        ("token",), statuses=("killed",), violation="syscall", guard_event=CTYPES
    ),
    "setns_host": Case(("token",), statuses=("killed",), violation="syscall", guard_event=CTYPES),
    "bpf_syscall": Case(
        ("token",), "needs a valid bpf_attr to succeed", ("killed",), "syscall",
        guard_event=CTYPES,
    ),
    "native_shared_object": Case(
        ("marker",), statuses=("succeeded", "failed"), guard_event="subprocess.Popen"
    ),
    "pickle_payload": Case(
        ("marker",), statuses=("succeeded", "failed"), guard_event="pickle.find_class"
    ),
}


class Listener:
    """A host TCP + UDP listener on 127.0.0.1 that records every byte it receives."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self._stop = threading.Event()
        threading.Thread(target=self._serve_tcp, daemon=True).start()
        threading.Thread(target=self._serve_udp, daemon=True).start()

    def _serve_tcp(self) -> None:
        self.tcp.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.tcp.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(1)
                self.received.append(b"tcp-connect:" + conn.recv(4096))

    def _serve_udp(self) -> None:
        self.udp.settimeout(0.2)
        while not self._stop.is_set():
            try:
                self.received.append(b"udp:" + self.udp.recv(4096))
            except TimeoutError:
                continue

    def close(self) -> None:
        self._stop.set()


@dataclass
class World:
    """The host-side state a case may attack, and how to check it afterwards."""

    home: Path
    scratch: Path
    token: str
    listener: Listener
    victim: subprocess.Popen[bytes]
    marker: Path = field(init=False)
    victim_file: Path = field(init=False)
    secret_file: Path = field(init=False)
    secret_json: Path = field(init=False)

    def __post_init__(self) -> None:
        self.marker = self.scratch / "escaped.marker"
        self.victim_file = self.scratch / "victim.txt"
        self.victim_file.write_text("original")
        fake_user_home = self.scratch / "userhome"
        fake_user_home.mkdir()
        self.secret_file = fake_user_home / ".secret"
        self.secret_file.write_text(f"secret {self.token}")
        self.secret_json = fake_user_home / "secret.json"
        self.secret_json.write_text(json.dumps({"ok": True, "metrics": {"s": self.token}}))
        other = self.home / "jobs" / "other-job" / "out"
        other.mkdir(parents=True, exist_ok=True)
        (other / "result.json").write_text(json.dumps({"secret": self.token}))
        (self.home / "evalpod.db").write_text(f"SQLite format 3 {self.token}")
        (self.home / "admin.key").write_text(self.token)

    def render(self, name: str, out_dir: str = "/out") -> Path:
        text = (SCRIPTS / f"{name}.py").read_text()
        for key, value in {
            "__OUT__": out_dir,
            "__TOKEN__": self.token,
            "__MARKER__": str(self.marker),
            "__TCP_PORT__": str(self.listener.tcp.getsockname()[1]),
            "__UDP_PORT__": str(self.listener.udp.getsockname()[1]),
            "__VICTIM_PID__": str(self.victim.pid),
            "__VICTIM_FILE__": str(self.victim_file),
            "__SECRET_FILE__": str(self.secret_file),
            "__SECRET_JSON__": str(self.secret_json),
            "__HOME__": str(self.home),
        }.items():
            text = text.replace(key, value)
        path = self.scratch / f"{name}.py"
        path.write_text(text)
        return path

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "EVALPOD_HOME": str(self.home),
            "PYTHONPATH": str(ROOT),
            "EVALPOD_TEST_TOKEN": self.token,
        }


def _survivors(token: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if token.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _victim_ok(victim: subprocess.Popen[bytes]) -> bool:
    if victim.poll() is not None:
        return False
    state = Path(f"/proc/{victim.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state not in ("t", "T")


def breaches(world: World, output: str) -> list[str]:
    """Every observable that shows an escape (empty: contained)."""
    found = []
    if world.token in output:
        found.append("token")
    if world.marker.exists():
        found.append("marker")
    if any(r.startswith(b"tcp") for r in world.listener.received):
        found.append("tcp")
    if any(r.startswith(b"udp") for r in world.listener.received):
        found.append("udp")
    if not _victim_ok(world.victim):
        found.append("victim_pid")
    if world.victim_file.read_text() != "original":
        found.append("victim_file")
    if _survivors(world.token):
        found.append("survivors")
    if world.token in HARNESS.read_text():
        found.append("harness")
    return found


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


@pytest.fixture
def world(tmp_path: Path, listener: Listener) -> Iterator[World]:
    listener.received.clear()
    victim = subprocess.Popen(["sleep", "60"])
    home = tmp_path / "home"
    scratch = tmp_path / "scratch"
    home.mkdir()
    scratch.mkdir()
    yield World(home, scratch, f"TOKEN{uuid.uuid4().hex}", listener, victim)
    victim.kill()
    victim.wait()


def run_sandboxed(
    world: World, script: Path, guard: bool = True, timeout_s: float = 2.0
) -> tuple[dict[str, Any], str]:
    argv = [
        sys.executable,
        "-c",
        CLI,
        "sandbox",
        "run",
        str(script),
        "--json",
        "--timeout",
        str(timeout_s),
        "--memory-mb",
        "256",
        "--disk-mb",
        "32",
        *([] if guard else ["--no-guard"]),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, env=world.env(), timeout=60)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert done.returncode == (0 if report["status"] == "succeeded" else 1)
    return report, done.stdout + done.stderr


def run_unsandboxed(world: World, script: Path) -> str:
    out = world.scratch / "out"
    out.mkdir(exist_ok=True)
    spec = {
        "kind": "script",
        "script_path": str(script),
        "model_path": None,
        "result_path": str(out / "result.json"),
        "guard": False,
        "landlock": "off",  # no sandbox at all: the harness's own Landlock off too
    }
    spec_path = world.scratch / "spec.json"
    spec_path.write_text(json.dumps(spec))
    log = world.scratch / "unsandboxed.log"
    with open(log, "wb") as sink:  # a file, not a pipe: a daemon child would hold a pipe open
        proc = subprocess.Popen(
            [sys.executable, "-I", str(HARNESS), str(spec_path)],
            cwd=world.scratch,
            env=world.env(),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=10)
        finally:
            with_suppress_kill(proc.pid)
    result = out / "result.json"
    # What a naive host reader (following symlinks) would have handed back.
    naive = result.read_text() if result.exists() else ""
    return log.read_text(errors="replace") + naive


def with_suppress_kill(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


@pytest.mark.parametrize("name", sorted(CASES))
def test_contained_without_guard(name: str, world: World) -> None:
    """The sandbox's own layers hold with the runtime guard off."""
    case = CASES[name]
    report, output = run_sandboxed(world, world.render(name), False, case.timeout_s)
    assert report["status"] in case.statuses, report
    if case.violation is not None:
        assert report["violation"] is not None, report
        assert report["violation"]["kind"] == case.violation, report
    found = breaches(world, output)
    assert not found, (found, report)
    assert float(str(report["duration_s"])) < case.timeout_s + 8


@pytest.mark.parametrize("name", sorted(CASES))
def test_contained_with_guard(name: str, world: World) -> None:
    """As every job runs: where the guard has a rule, it stops the attempt first."""
    case = CASES[name]
    report, output = run_sandboxed(world, world.render(name), True, case.timeout_s)
    if case.guard_event is not None:
        assert report["status"] == "killed", report
        assert report["violation"]["kind"] == "policy", report
        assert report["violation"]["detail"] == f"{case.guard_event} denied", report
        assert isinstance(report["violation"]["line"], int), report
    else:
        assert report["status"] in case.statuses, report
        if case.violation is not None:
            assert report["violation"]["kind"] == case.violation, report
    found = breaches(world, output)
    assert not found, (found, report)
    assert float(str(report["duration_s"])) < case.timeout_s + 8


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c.unsandboxed is None))
def test_observable_sees_unsandboxed_escape(name: str, world: World) -> None:
    case = CASES[name]
    output = run_unsandboxed(world, world.render(name, str(world.scratch / "out")))
    found = breaches(world, output)
    for pid in _survivors(world.token):
        os.kill(pid, signal.SIGKILL)
    assert set(case.observables) & set(found), (found, output[-2000:])


def test_every_script_has_a_case() -> None:
    names = {p.stem for p in SCRIPTS.glob("*.py")}
    assert names == set(CASES)
    assert len(names) >= 30
