"""LocalBackend end to end on the real host: launch, kill, cleanup, refusal on a weak host."""

from __future__ import annotations

import asyncio
import errno
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from evalpod.settings import Settings
from monitor.supervisor import supervise
from orchestrator.local import backend as backend_module
from orchestrator.local import spawn as spawn_module
from orchestrator.local.backend import LocalBackend, LocalProcess
from orchestrator.local.cgroups import CgroupVersion, JobCgroup, detect_layout
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


def _has_landlock() -> bool:
    import ctypes

    return int(ctypes.CDLL(None, use_errno=True).syscall(444, None, 0, 1)) >= 1


async def test_job_files_come_from_fds_and_nothing_lands_on_host_disk(
    local: LocalBackend,
) -> None:
    script = (
        "import json, os\n"
        "def read(path, parse=lambda f: f.read()):\n"
        "    try:\n"
        "        return parse(open(path))\n"
        "    except PermissionError:\n"
        "        return 'unreadable'\n"
        "def evaluate_model(model):\n"
        "    spec = read('/job/spec.json', json.load)\n"
        "    names = ('spec.json', 'script.py')  # listing /job is denied under Landlock\n"
        "    modes = {n: oct(os.stat('/job/' + n).st_mode & 0o777) for n in names}\n"
        "    changed = []\n"
        "    for path in ('/job/script.py', '/job/spec.json', '/etc/passwd', '/etc/hosts'):\n"
        "        for change in (lambda: open(path, 'a').write('x'),\n"
        "                       lambda: os.chmod(path, 0o666), lambda: os.unlink(path),\n"
        "                       lambda: os.rename(path, path + '.x'),\n"
        "                       lambda: open(path + '.new', 'w')):\n"
        "            try:\n"
        "                change()\n"
        "                changed.append(path)\n"
        "            except OSError:\n"
        "                pass\n"
        "    return {'spec': spec, 'script': read('/job/script.py'), 'modes': modes,\n"
        "            'changed': changed, 'passwd': open('/etc/passwd').read()}\n"
    )
    job = make_job(script)
    outcome = await local.run(job, discard)
    assert outcome.status == "succeeded", outcome
    result = outcome.result or {}
    if _has_landlock():  # the harness read them; the script may not (docs/sandbox.md)
        assert result["script"] == result["spec"] == "unreadable"
    else:
        assert result["script"] == script
        assert result["spec"]["model_path"] is None
        assert result["spec"]["script_path"] == "/job/script.py"
    assert result["modes"] == {"spec.json": "0o444", "script.py": "0o444"}
    # Copied into the sandbox's root (bwrap --file), which is read-only: no write, mode
    # change, removal, rename or new file beside them.
    assert result["changed"] == []
    assert result["passwd"] == backend_module.ETC_DATA["/etc/passwd"]
    assert not local.settings.jobs_dir.exists()


async def test_loader_files_are_the_hosts_and_read_only(local: LocalBackend) -> None:
    """ld.so.cache and friends are copied in (not bound): the same bytes as the host's,
    and nothing the job can change."""
    script = (
        "import os\n"
        "def evaluate_model(model):\n"
        "    seen, changed = {}, []\n"
        "    for path in ('/etc/ld.so.cache', '/etc/ld.so.conf', '/etc/localtime'):\n"
        "        if os.path.exists(path):\n"
        "            seen[path] = open(path, 'rb').read().hex()\n"
        "            try:\n"
        "                open(path, 'ab').close()\n"
        "                changed.append(path)\n"
        "            except OSError:\n"
        "                pass\n"
        "    conf_d = sorted(os.listdir('/etc/ld.so.conf.d'))\n"
        "    return {'seen': seen, 'changed': changed, 'conf_d': conf_d}\n"
    )
    outcome = await local.run(make_job(script), discard)
    assert outcome.status == "succeeded", outcome
    result = outcome.result or {}
    host = {p: Path(p).read_bytes().hex() for p in result["seen"]}
    assert "/etc/ld.so.cache" in host and result["seen"] == host
    assert result["changed"] == []
    conf_d = Path("/etc/ld.so.conf.d")
    assert result["conf_d"] == sorted(e.name for e in conf_d.iterdir() if e.is_file())


async def test_proc_sys_is_the_sandboxs_own_and_read_only(local: LocalBackend) -> None:
    """/proc/sys is the sandbox's procfs (its own network namespace's sysctls, not the
    host's), and a write open of it fails: the whole procfs is read-only."""
    script = (
        "import errno, os\n"
        "def evaluate_model(model):\n"
        "    try:\n"
        "        os.close(os.open('/proc/sys/kernel/hostname', os.O_WRONLY))\n"
        "        code = 0\n"
        "    except OSError as exc:\n"
        "        code = exc.errno\n"
        "    own = os.stat('/proc/self').st_dev == os.stat('/proc/sys/net').st_dev\n"
        "    return {'errno': code, 'own': own,\n"
        "            'hostname': open('/proc/sys/kernel/hostname').read().strip()}\n"
    )
    # Landlock (off here) would refuse /proc/sys before the mount's own flags are seen.
    job = make_job(script).model_copy(update={"landlock": "off"})
    outcome = await local.run(job, discard)
    assert outcome.status == "succeeded", outcome
    result = outcome.result or {}
    assert result["errno"] in (errno.EROFS, errno.EACCES, errno.EPERM), result
    assert result["own"] is True and result["hostname"] == "sandbox"


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


async def test_a_normal_end_is_not_frozen_and_killed(
    local: LocalBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After bwrap's own exit the sandbox's pid 1 is still tearing it down; the end waits
    for the cgroup to empty instead of freezing and killing it from a worker thread (a
    thread hop and 2 ms polls, about 3 ms on every job). It is empty afterwards, and a
    daemon the job left is gone with the sandbox's pid namespace."""
    script = (
        "import os, sys\n"
        "def evaluate_model(model):\n"
        "    if os.fork() == 0:\n"
        "        os.setsid()\n"
        "        if os.fork() == 0:\n"
        "            os.execv(sys.executable,\n"
        f"                     [sys.executable, '-c', 'import time; time.sleep(9)', '{TOKEN}-3'])\n"
        "        os._exit(0)\n"
        "    return {'ok': 1}\n"
    )
    kills: list[JobCgroup] = []
    real_kill_all = JobCgroup.kill_all

    def spy(self: JobCgroup, timeout_s: float = 5.0) -> bool:
        kills.append(self)
        return real_kill_all(self, timeout_s)

    monkeypatch.setattr(JobCgroup, "kill_all", spy)
    process = await local.launch(make_job(script))
    assert isinstance(process, LocalProcess) and process._cgroup is not None
    cgroup = process._cgroup
    try:
        outcome = await supervise(process, discard, asyncio.Event())
        assert cgroup.pids() == []
    finally:
        await process.cleanup()
    assert outcome.status == "succeeded" and outcome.result == {"ok": 1}
    assert kills == []
    assert not host_processes_with(f"{TOKEN}-3")
    assert not any(path.exists() for path in cgroup.dirs.values())


async def test_a_breach_still_freezes_and_kills(
    local: LocalBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While bwrap runs (a limit breach, a cancel) the kill does not wait for anything."""
    kills: list[JobCgroup] = []
    real_kill_all = JobCgroup.kill_all

    def spy(self: JobCgroup, timeout_s: float = 5.0) -> bool:
        kills.append(self)
        return real_kill_all(self, timeout_s)

    monkeypatch.setattr(JobCgroup, "kill_all", spy)
    sleeper = "import time\ndef evaluate_model(model):\n    time.sleep(9)\n"
    process = await local.launch(make_job(sleeper))
    assert isinstance(process, LocalProcess) and process._cgroup is not None
    try:
        await asyncio.sleep(0.3)
        await process.kill()
        assert process._cgroup.pids() == []
    finally:
        await process.cleanup()
    assert len(kills) == 1


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
    local.doctor()  # the host probes run their own processes: not counted below
    spawned: list[str] = []
    real_popen = subprocess.Popen

    def spy(argv: list[str], *args: Any, **kwargs: Any) -> Any:
        spawned.append(argv[0])
        assert kwargs.get("preexec_fn") is None
        return real_popen(argv, *args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", spy)
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


def v1_cgroups_only() -> None:
    layout = detect_layout()
    if layout.version is not CgroupVersion.v1 or not layout.usable:
        pytest.skip("the thread move is cgroup v1's (v2 adopts the child)")


async def test_a_cold_start_is_born_in_its_cgroups_without_a_procs_write(
    local: LocalBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue #15 item 3: moving a started process (a pid written to v1 `cgroup.procs`)
    waits an RCU grace period, 11 ms idle and tens of ms loaded, on every cold start.
    bwrap is born inside instead, and the service's thread is back in its own cgroups."""
    v1_cgroups_only()
    own = Path("/proc/thread-self/cgroup").read_text()
    adopted: list[list[int]] = []
    real_adopt = JobCgroup.adopt

    def spy(self: JobCgroup, pids: list[int]) -> None:
        adopted.append(pids)
        real_adopt(self, pids)

    monkeypatch.setattr(JobCgroup, "adopt", spy)
    script = "import time\ndef evaluate_model(model):\n    time.sleep(5)\n"
    process = await local.launch(make_job(script))
    try:
        assert isinstance(process, LocalProcess) and process._cgroup is not None
        assert process._proc.born_inside and adopted == []
        pid = process._proc.pid
        mine = Path(f"/proc/{pid}/cgroup").read_text()
        for controller, path in process._cgroup.dirs.items():
            relative = "/" + str(path.relative_to(path.parents[1]))
            assert f":{controller}:{relative}\n" in mine, mine
        assert pid in process._cgroup.pids()
        assert os.getpid() not in process._cgroup.pids()
        assert Path("/proc/thread-self/cgroup").read_text() == own
    finally:
        await process.cleanup()


async def test_bwrap_survives_the_spawn_and_dies_with_the_service_thread(
    local: LocalBackend,
) -> None:
    """--die-with-parent fires when the *thread* that forked bwrap ends: a job started
    from a short-lived helper thread was SIGKILLed at random (exit -9, no output)."""
    noop = "def evaluate_model(model):\n    return {'ok': 1}\n"
    for _ in range(5):
        outcome = await local.run(make_job(noop), discard)
        assert outcome.status == "succeeded" and outcome.result == {"ok": 1}, outcome


@pytest.mark.parametrize("failure", ["move refused", "own cgroups unknown"])
async def test_a_failed_thread_move_falls_back_to_adopting_the_child(
    local: LocalBackend, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    """Where the thread cannot step into the job's cgroups (or could not find its way
    back), bwrap starts outside and is moved in before the job runs: still confined."""
    v1_cgroups_only()
    own_cgroups = Path("/proc/thread-self/cgroup").read_text()
    calls: list[list[str]] = []

    def refuse(thread_files: list[str]) -> None:
        calls.append(thread_files)
        raise PermissionError("tasks not writable")

    if failure == "move refused":
        monkeypatch.setattr(spawn_module, "move_current_thread", refuse)
    else:
        monkeypatch.setattr(backend_module, "current_thread_files", lambda layout: None)
    adopted: list[list[int]] = []
    real_adopt = JobCgroup.adopt

    def spy(self: JobCgroup, pids: list[int]) -> None:
        adopted.append(pids)
        real_adopt(self, pids)

    monkeypatch.setattr(JobCgroup, "adopt", spy)
    bomb = "import os\ndef evaluate_model(model):\n    while True:\n        os.fork()\n"
    outcome = await local.run(make_job(bomb, max_processes=16), discard)
    assert adopted and len(adopted[0]) == 2, "bwrap and its pid 1 were not moved in"
    assert bool(calls) == (failure == "move refused")
    assert outcome.violation is not None and outcome.violation.kind == "processes", outcome
    assert Path("/proc/thread-self/cgroup").read_text() == own_cgroups


def test_lm_eval_task_dirs_are_mounted_only_where_lm_eval_may_run(local: LocalBackend) -> None:
    """A cold script job gets no tasks mount (four mounts less per start); an lm-eval job
    and a warm sandbox (which may take either kind) keep it."""
    report = local.doctor()
    script = make_job("def evaluate_model(model):\n    return {}\n")
    lm_eval = script.model_copy(update={"kind": "lm_eval", "tasks": ["t"]})
    assert local._task_dirs(), "the shipped task dir is missing"
    assert local._plan(script, report).task_dirs == ()
    assert local._plan(lm_eval, report).task_dirs == local._task_dirs()
    assert local._plan(script, report, warm=True).task_dirs == local._task_dirs()


@pytest.mark.parametrize("cap", [1, 2])
async def test_a_tiny_task_cap_is_a_processes_violation_not_a_launch_error(
    local: LocalBackend, cap: int
) -> None:
    """The service's thread counts toward pids.max while it forks bwrap inside the job's
    cgroups: with a cap of 1 that fork is refused (it raised BlockingIOError out of
    launch). bwrap then starts outside, and the job meets the cap as before."""
    noop = "def evaluate_model(model):\n    return {}\n"
    outcome = await local.run(make_job(noop, max_processes=cap), discard)
    assert outcome.status == "killed", outcome
    assert outcome.violation is not None and outcome.violation.kind == "processes", outcome
