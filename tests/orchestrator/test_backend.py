"""LocalBackend end to end on the real host: launch, kill, cleanup, refusal on a weak host."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from evalpod.settings import Settings
from monitor.supervisor import supervise
from orchestrator.local import backend as backend_module
from orchestrator.local.backend import LocalBackend, LocalProcess
from orchestrator.local.doctor import DoctorReport, Feature
from orchestrator.sandbox import ResourceLimits, SandboxJob, SandboxUnavailable

TOKEN = "evalpod-backend-test-daemon"
# These tests probe the sandbox itself: the harness's runtime guard (which denies most of
# what they do, one layer up) stays off where the job model has the switch.
SANDBOX_LAYERS_ONLY: dict[str, Any] = {"guard": False} if "guard" in SandboxJob.model_fields else {}


def make_job(script: str, **limits: object) -> SandboxJob:
    values: dict[str, object] = {"timeout_s": 5.0, "memory_mb": 512, **limits}
    return SandboxJob(
        job_id=f"bt-{abs(hash(script)) % 10**8}",
        script=script,
        limits=ResourceLimits.model_validate(values),
        **SANDBOX_LAYERS_ONLY,
    )


async def discard(line: str) -> None:
    return None


def host_processes_with(token: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and token.encode() in (entry / "cmdline").read_bytes():
                found.append(entry.name)
        except OSError:
            continue
    return found


@pytest.fixture
def local(tmp_path: Path) -> LocalBackend:
    return LocalBackend(Settings(home=tmp_path))


async def test_job_files_come_from_fds_and_nothing_lands_on_host_disk(
    local: LocalBackend,
) -> None:
    script = (
        "import json, os\n"
        "def evaluate_model(model):\n"
        "    spec = json.load(open('/job/spec.json'))\n"
        "    modes = {n: oct(os.stat('/job/' + n).st_mode & 0o777) for n in os.listdir('/job')}\n"
        "    return {'spec': spec, 'script': open('/job/script.py').read(), 'modes': modes}\n"
    )
    job = make_job(script)
    outcome = await local.run(job, discard)
    assert outcome.status == "succeeded", outcome
    result = outcome.result or {}
    assert result["script"] == script
    assert result["spec"]["model_path"] is None
    assert result["spec"]["script_path"] == "/job/script.py"
    assert result["modes"] == {"spec.json": "0o444", "script.py": "0o444"}
    assert not local.settings.jobs_dir.exists()


async def test_timeout_kills_daemons_everywhere(local: LocalBackend) -> None:
    script = (
        "import os, sys, time\n"
        "def evaluate_model(model):\n"
        "    if os.fork() == 0:\n"
        "        os.setsid()\n"
        "        if os.fork() == 0:\n"
        "            os.execv(sys.executable,\n"
        f"                     [sys.executable, '-c', 'import time; time.sleep(99)', '{TOKEN}'])\n"
        "        os._exit(0)\n"
        "    time.sleep(99)\n"
    )
    job = make_job(script, timeout_s=4.0)
    process = await local.launch(job)
    for _ in range(250):  # well within the timeout, even on a loaded host
        if host_processes_with(TOKEN):
            break
        await asyncio.sleep(0.01)
    assert host_processes_with(TOKEN)
    outcome = await supervise(process, discard, asyncio.Event())
    assert outcome.status == "killed" and outcome.violation is not None
    assert outcome.violation.kind == "timeout"
    assert not host_processes_with(TOKEN)
    await process.cleanup()


async def test_daemon_left_after_success_is_reaped(local: LocalBackend) -> None:
    script = (
        "import os, sys\n"
        "def evaluate_model(model):\n"
        "    if os.fork() == 0:\n"
        "        os.setsid()\n"
        "        if os.fork() == 0:\n"
        "            os.execv(sys.executable,\n"
        f"                     [sys.executable, '-c', 'import time; time.sleep(9)', '{TOKEN}-2'])\n"
        "        os._exit(0)\n"
        "    return {'ok': 1}\n"
    )
    outcome = await local.run(make_job(script), discard)
    assert outcome.status == "succeeded"
    assert not host_processes_with(f"{TOKEN}-2")


async def test_weak_host_is_refused(local: LocalBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    weak = DoctorReport(
        bwrap_path="/usr/bin/bwrap",
        bwrap_version="x",
        features=[Feature(name="seccomp", ok=False, required=True, detail="missing")],
    )
    monkeypatch.setattr(backend_module, "probe", lambda _path: weak)
    with pytest.raises(SandboxUnavailable, match="seccomp"):
        await local.launch(make_job("def evaluate_model(model):\n    return {}\n"))


async def test_health_reports_features(local: LocalBackend) -> None:
    health = await local.health()
    assert health.backend == "local"
    assert health.ok is True
    assert health.detail["seccomp"] is True and health.detail["user_namespaces"] is True


async def test_job_runs_as_unprivileged_host_uid(local: LocalBackend) -> None:
    report = local.doctor()
    feature = report.feature("host_uid_drop")
    if feature is None or not feature.ok:
        pytest.skip("host uid drop unavailable (service not root or no setpriv)")
    script = "import time\ndef evaluate_model(model):\n    time.sleep(5)\n"
    process = await local.launch(make_job(script))
    try:
        await asyncio.sleep(0.5)
        assert isinstance(process, LocalProcess)
        cgroup = process._cgroup  # the host side, which only this backend has
        assert cgroup is not None
        uids = {}
        for pid in cgroup.pids():
            status = Path(f"/proc/{pid}/status").read_text()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
            uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
            uids[cmd] = set(uid_line.split()[1:])
            if "python" in cmd:
                cap = next(line for line in status.splitlines() if line.startswith("CapEff:"))
                assert int(cap.split()[1], 16) == 0
        pythons = {cmd: ids for cmd, ids in uids.items() if "python" in cmd}
        assert pythons and all(ids == {"65534"} for ids in pythons.values()), uids
    finally:
        await process.cleanup()


async def test_unreaped_zombies_count_toward_the_process_limit(local: LocalBackend) -> None:
    """Issue #12 fault 9: 125 children left unreaped fill pids.max (128)."""
    script = (
        "import os, time\n"
        "def evaluate_model(model):\n"
        "    for _ in range(125):\n"
        "        if os.fork() == 0:\n"
        "            os._exit(0)\n"
        "    time.sleep(3)\n"
        "    return {}\n"
    )
    outcome = await local.run(make_job(script, max_processes=128), discard)
    assert outcome.status == "killed", outcome
    assert outcome.violation is not None and outcome.violation.kind == "processes", outcome


async def test_a_refused_fork_is_a_violation_even_after_a_quick_exit(local: LocalBackend) -> None:
    """The kernel's refusal is remembered (pids.events), not only sampled while running."""
    script = (
        "import os\n"
        "def evaluate_model(model):\n"
        "    try:\n"
        "        while True:\n"
        "            if os.fork() == 0:\n"
        "                os._exit(0)\n"
        "    except OSError:\n"
        "        os._exit(0)\n"
    )
    outcome = await local.run(make_job(script, max_processes=32), discard)
    assert outcome.status == "killed", outcome
    assert outcome.violation is not None and outcome.violation.kind == "processes", outcome


RLIMITS_SCRIPT = (
    "import resource\n"
    "def evaluate_model(model):\n"
    "    names = ('RLIMIT_CORE', 'RLIMIT_NOFILE', 'RLIMIT_FSIZE', 'RLIMIT_CPU')\n"
    "    return {n: list(resource.getrlimit(getattr(resource, n))) for n in names}\n"
)


async def test_limits_hold_with_bwrap_spawned_directly(
    local: LocalBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bwrap is the process the service starts (no sh, prlimit or preexec_fn before it),
    and its job still runs under the job's rlimits and inside its cgroup: both are put on
    bwrap and the sandbox's pid 1 while bwrap waits on its block fd."""
    spawned: list[str] = []
    real_exec = asyncio.create_subprocess_exec

    async def spy(program: str, *args: Any, **kwargs: Any) -> Any:
        spawned.append(program)
        assert kwargs.get("preexec_fn") is None
        return await real_exec(program, *args, **kwargs)

    monkeypatch.setattr(asyncio, "create_subprocess_exec", spy)
    job = make_job(RLIMITS_SCRIPT, timeout_s=5.0, disk_mb=64, max_result_bytes=1024 * 1024)
    outcome = await local.run(job, discard)
    assert outcome.status == "succeeded", outcome
    fsize = 64 * 1024 * 1024 + 1024 * 1024
    assert outcome.result == {
        "RLIMIT_CORE": [0, 0],
        "RLIMIT_NOFILE": [4096, 4096],
        "RLIMIT_FSIZE": [fsize, fsize],
        "RLIMIT_CPU": [15, 20],
    }
    assert [Path(program).name for program in spawned] == ["bwrap"]
    # And the job ran inside its cgroup: a fork past pids.max is refused there.
    bomb = "import os\ndef evaluate_model(model):\n    while True:\n        os.fork()\n"
    outcome = await local.run(make_job(bomb, max_processes=16), discard)
    assert outcome.violation is not None and outcome.violation.kind == "processes", outcome


async def test_a_launch_after_the_first_needs_no_worker_thread(
    local: LocalBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Host checks are kept once they passed and bwrap's info pipe is read on the event
    loop: a launch makes no hop to a worker thread (each waits for a free thread and the
    GIL, milliseconds on a loaded host)."""
    noop = "def evaluate_model(model):\n    return {'ok': 1}\n"
    assert (await local.run(make_job(noop), discard)).status == "succeeded"
    hops: list[str] = []
    real_to_thread = asyncio.to_thread

    async def spy(function: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(function, "__name__", repr(function)))
        return await real_to_thread(function, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", spy)
    process = await local.launch(make_job(noop))
    try:
        assert hops == []
        outcome = await supervise(process, discard, asyncio.Event())
    finally:
        await process.cleanup()
    assert outcome.status == "succeeded" and outcome.result == {"ok": 1}
