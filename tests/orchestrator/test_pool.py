"""The warm sandbox pool on the real host: jobs drawn from it, one sandbox per job, the
guard armed before the script, the cold path on a miss, idle shrink."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from evalpod.settings import Settings
from monitor.supervisor import supervise
from orchestrator.local.backend import LocalBackend, LocalProcess
from orchestrator.local.cgroups import (
    JOB_XATTR,
    CgroupLayout,
    CgroupVersion,
    JobCgroup,
    detect_layout,
)
from orchestrator.local.pool import PoolKey, WarmPool
from orchestrator.sandbox import ResourceLimits, SandboxJob, SandboxOutcome
from tests.e2e.processes import processes_of_job


def make_job(job_id: str, script: str, model: Path | None = None, **limits: object) -> SandboxJob:
    values: dict[str, object] = {"timeout_s": 60.0, "memory_mb": 1024, **limits}
    return SandboxJob(job_id=job_id, script=script, model_path=model,
                      limits=ResourceLimits.model_validate(values))


@pytest.fixture
async def pooled(tmp_path: Path) -> AsyncIterator[LocalBackend]:
    backend = LocalBackend(Settings(home=tmp_path, warm_pool_size=1))
    try:
        yield backend
    finally:
        await backend.aclose()


def pool_of(backend: LocalBackend) -> WarmPool:
    pool = backend.warm_pool
    assert pool is not None
    return pool


async def run_drawn(backend: LocalBackend, job: SandboxJob) -> tuple[SandboxOutcome, LocalProcess]:
    """Launch `job` (it must come from the pool) and supervise it to the end."""
    pool = backend.warm_pool
    assert pool is not None
    taken = pool.taken
    process = await backend.launch(job)
    assert isinstance(process, LocalProcess)
    assert pool.taken == taken + 1, "the job did not get a warm sandbox"
    lines: list[str] = []

    async def keep(line: str) -> None:
        lines.append(line)

    try:
        outcome = await supervise(process, keep, asyncio.Event())
    finally:
        await process.cleanup()
    return outcome, process


def alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/status").exists() and "zombie" not in Path(
        f"/proc/{pid}/status").read_text()


async def test_a_job_from_the_pool_runs_on_its_model_and_its_sandbox_goes(
    pooled: LocalBackend, tiny_model_dir: Path,
) -> None:
    script = ("def evaluate_model(model):\n"
              "    print('first script line')\n"
              "    return {'n': len(model.generate(['Hello'], max_new_tokens=2))}\n")
    job = make_job("pool-model", script, tiny_model_dir, memory_mb=2048)
    pool = pool_of(pooled)
    assert await pool.prime(job) == 1
    outcome, process = await run_drawn(pooled, job)
    assert outcome.status == "succeeded", outcome
    assert outcome.result == {"n": 1}
    assert "first script line" in outcome.stdout_tail
    assert not alive(process._child_pid)
    cgroup = process._cgroup
    assert cgroup is None or not any(path.exists() for path in cgroup.dirs.values())
    status = pool.status()
    assert (status.hits, status.waits, status.misses) == (1, 0, 0)
    assert [(key.model, key.target) for key in status.keys] == [(tiny_model_dir.name, 1)]
    assert pooled.status()["warm_pool"] == status.model_dump()


async def test_two_jobs_never_share_a_sandbox(pooled: LocalBackend) -> None:
    script = ("import os\n"
              "def evaluate_model(model):\n"
              "    seen = os.path.exists('/tmp/left-by-a-job')\n"
              "    open('/tmp/left-by-a-job', 'w').write('x')\n"
              "    return {'seen': seen, 'started': open('/proc/self/stat').read().split()[21]}\n")
    first, second = make_job("pool-a", script), make_job("pool-b", script)
    pool = pool_of(pooled)
    assert await pool.prime(first) == 1
    one, process_one = await run_drawn(pooled, first)
    assert await pool.prime(second) == 1
    two, process_two = await run_drawn(pooled, second)
    assert one.status == two.status == "succeeded", (one, two)
    assert one.result is not None and two.result is not None
    assert one.result["seen"] is False and two.result["seen"] is False
    assert process_one is not process_two
    assert process_one._child_pid != process_two._child_pid
    assert not alive(process_one._child_pid) and not alive(process_two._child_pid)


@pytest.mark.parametrize("memory_mb", [777, 4096])  # below and above the warm sandbox's own
async def test_the_job_gets_its_own_limits_at_assignment(
    pooled: LocalBackend, memory_mb: int,
) -> None:
    script = "def evaluate_model(model):\n    return {}\n"
    job = make_job("pool-limits", script, memory_mb=memory_mb, max_processes=33)
    pool = pool_of(pooled)
    assert await pool.prime(job) == 1
    process = await pooled.launch(job)
    assert isinstance(process, LocalProcess)
    try:
        assert pool.taken == 1 and process.job is job
        cgroup = process._cgroup
        if cgroup is not None:
            memory = cgroup.dirs["memory"]
            limit = next(memory / name for name in ("memory.max", "memory.limit_in_bytes")
                         if (memory / name).exists())
            assert int(limit.read_text()) == memory_mb * 1024 * 1024
            assert (cgroup.dirs["pids"] / "pids.max").read_text().strip() == "33"
        outcome = await supervise(process, _discard, asyncio.Event())
        assert outcome.status == "succeeded", outcome
    finally:
        await process.cleanup()


async def test_the_guard_is_armed_before_a_pooled_script_runs(pooled: LocalBackend) -> None:
    script = ("import os\n"
              "try:\n"
              "    os.system('id')\n"
              "except PermissionError:\n"
              "    pass\n"
              "def evaluate_model(model):\n"
              "    return {'ran': True}\n")
    job = make_job("pool-escape", script)
    pool = pool_of(pooled)
    assert await pool.prime(job) == 1
    outcome, _ = await run_drawn(pooled, job)
    assert outcome.status == "killed", outcome
    assert outcome.violation is not None
    assert outcome.violation.kind == "policy"
    assert outcome.violation.detail == "os.system denied"
    assert outcome.violation.line == 3


async def test_an_empty_pool_starts_the_job_cold_and_warms_its_key(
    pooled: LocalBackend,
) -> None:
    job = make_job("pool-miss", "def evaluate_model(model):\n    return {'cold': 1}\n")
    outcome = await pooled.run(job, _discard)
    pool = pool_of(pooled)
    assert outcome.status == "succeeded" and outcome.result == {"cold": 1}, outcome
    assert pool.taken == 0
    assert pool.keys() == [PoolKey.of(job)]
    status = pool.status()
    assert (status.hits, status.waits, status.misses) == (0, 0, 1)
    assert status.keys[0].ready + status.keys[0].warming == 1  # warming for the next job


async def test_jobs_with_datasets_or_job_files_always_start_cold(pooled: LocalBackend) -> None:
    job = make_job("pool-files", "def evaluate_model(model):\n    return {}\n")
    assert PoolKey.of(job.model_copy(update={"job_files": {"extra.txt": "x"}})) is None
    assert PoolKey.of(job.model_copy(update={"kind": "dataset_check"})) is None
    assert PoolKey.of(job) is not None


async def test_a_disabled_pool_is_the_cold_path(tmp_path: Path) -> None:
    backend = LocalBackend(Settings(home=tmp_path, warm_pool_size=0))
    assert backend.warm_pool is None
    outcome = await backend.run(make_job("pool-off", "def evaluate_model(model):\n"
                                         "    return {'ok': 1}\n"), _discard)
    assert outcome.status == "succeeded", outcome


async def test_an_idle_key_loses_its_warm_sandboxes(tmp_path: Path) -> None:
    backend = LocalBackend(Settings(home=tmp_path, warm_pool_size=1, warm_pool_idle_s=0.2))
    try:
        pool = backend.warm_pool
        assert pool is not None
        job = make_job("pool-idle", "def evaluate_model(model):\n    return {}\n")
        assert await pool.prime(job) == 1
        key = PoolKey.of(job)
        assert key is not None
        warm = pool._keys[key].ready[0]
        while pool.keys():
            await asyncio.sleep(0.1)
        while alive(warm._child_pid):
            await asyncio.sleep(0.05)
        assert pool.ready_count() == 0
    finally:
        await backend.aclose()


async def test_on_miss_warm_sends_every_job_through_the_pool(tmp_path: Path) -> None:
    backend = LocalBackend(Settings(home=tmp_path, warm_pool_on_miss="warm"))
    try:
        job = make_job("pool-onmiss", "def evaluate_model(model):\n    return {'w': 1}\n")
        outcome, process = await run_drawn(backend, job)
        assert outcome.status == "succeeded" and outcome.result == {"w": 1}, outcome
        assert not alive(process._child_pid)
    finally:
        await backend.aclose()


async def _discard(line: str) -> None:
    return None


async def test_a_job_behind_an_empty_pool_takes_the_sandbox_still_warming(
    pooled: LocalBackend,
) -> None:
    script = "def evaluate_model(model):\n    return {'ok': 1}\n"
    pool = pool_of(pooled)
    first = await pooled.launch(make_job("pool-first", script))  # a miss: cold, warms its key
    assert pool.taken == 0
    outcome_two, second = await run_drawn(pooled, make_job("pool-second", script))
    try:
        outcome_one = await supervise(first, _discard, asyncio.Event())
    finally:
        await first.cleanup()
    assert outcome_one.status == outcome_two.status == "succeeded", (outcome_one, outcome_two)
    assert first is not second
    status = pool.status()
    assert (status.hits, status.waits, status.misses) == (0, 1, 1)


async def test_what_the_warm_harness_imported_for_itself_is_still_denied_to_the_script(
    pooled: LocalBackend,
) -> None:
    # The warm harness uses `resource` to set the job's rlimits; a cold job never imports it.
    job = make_job("pool-resource", "import resource\ndef evaluate_model(model):\n    return {}\n")
    assert await pool_of(pooled).prime(job) == 1
    outcome, _ = await run_drawn(pooled, job)
    assert outcome.status == "killed", outcome
    assert outcome.violation is not None
    assert (outcome.violation.detail, outcome.violation.target) == ("import denied", "resource")


SLEEPS = ("import time\n"
          "def evaluate_model(model):\n"
          "    print('running', flush=True)\n"
          "    time.sleep(60)\n"
          "    return {}\n")


async def _until_running(process: LocalProcess) -> None:
    lines = process.output_lines()
    async for line in lines:
        if "running" in line:
            return
    raise AssertionError("the job ended before it ran")


async def test_a_pooled_job_is_found_and_killed_by_its_own_name(pooled: LocalBackend) -> None:
    """A warm sandbox's cgroup takes its job's name at assignment: the job's processes are
    found by the job id (as a cold job's are), killing the cgroup of that name ends them
    all, and nothing of the job is left afterwards."""
    job_id = "pool-named"
    job = make_job(job_id, SLEEPS)
    assert await pool_of(pooled).prime(job) == 1
    process = await pooled.launch(job)
    assert isinstance(process, LocalProcess) and pool_of(pooled).taken == 1
    try:
        await asyncio.wait_for(_until_running(process), 60)
        found = processes_of_job(job_id)
        assert process._child_pid in found, found
        layout = detect_layout()
        if layout.usable:
            by_name = JobCgroup(layout, {controller: parent / f"job-{job_id}"
                                         for controller, parent in layout.parents.items()})
            assert process._child_pid in by_name.pids()
            assert await asyncio.to_thread(by_name.kill_all)
        else:
            await process.kill()
        assert await asyncio.wait_for(process.wait(), 30) is not None
        assert processes_of_job(job_id) == []
    finally:
        await process.cleanup()
    assert processes_of_job(job_id) == []


async def test_a_pooled_job_leaves_nothing_after_it_ends_or_is_cancelled(
    pooled: LocalBackend,
) -> None:
    pool = pool_of(pooled)
    ends = make_job("pool-ends", "def evaluate_model(model):\n    return {'ok': 1}\n")
    assert await pool.prime(ends) == 1
    outcome, _ = await run_drawn(pooled, ends)
    assert outcome.status == "succeeded", outcome
    assert processes_of_job("pool-ends") == []

    cancelled = make_job("pool-cancelled", SLEEPS)
    assert await pool.prime(cancelled) == 1
    process = await pooled.launch(cancelled)
    assert isinstance(process, LocalProcess) and pool.taken == 2
    cancel = asyncio.Event()
    seen: list[int] = []

    async def on_line(line: str) -> None:
        if "running" in line:
            seen.extend(processes_of_job("pool-cancelled"))
            cancel.set()

    try:
        outcome = await asyncio.wait_for(supervise(process, on_line, cancel), 90)
    finally:
        await process.cleanup()
    assert outcome.status == "cancelled", outcome
    assert process._child_pid in seen, seen
    assert processes_of_job("pool-cancelled") == []


def test_a_cgroup_v2_directory_records_its_jobs_name(tmp_path: Path) -> None:
    """cgroup v2 refuses to rename a cgroup: the job's name goes to an xattr instead."""
    unified = next((root for root in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified"))
                    if (root / "cgroup.controllers").exists()), None)
    if unified is None:
        pytest.skip("no cgroup v2 hierarchy mounted")
    warm = unified / f"job-warm-test-{os.getpid()}"
    try:
        warm.mkdir()
    except OSError as exc:
        pytest.skip(f"cannot create a cgroup v2 directory here: {exc}")
    try:
        group = JobCgroup(CgroupLayout(CgroupVersion.v2, {"memory": unified}),
                          {"memory": warm, "pids": warm})
        group.rename("job-ev-123")
        assert group.dirs == {"memory": warm, "pids": warm}
        assert os.getxattr(warm, JOB_XATTR) == b"job-ev-123"
    finally:
        warm.rmdir()


def test_a_cgroup_v1_directory_takes_its_jobs_name(tmp_path: Path) -> None:
    """v1 renames; a stale empty cgroup of that name (an earlier attempt) is replaced."""
    layout = detect_layout()
    if layout.version is not CgroupVersion.v1:
        pytest.skip("no usable cgroup v1 layout")
    limits = ResourceLimits(timeout_s=1, memory_mb=64)
    suffix = f"{os.getpid()}-{os.urandom(3).hex()}"
    group = JobCgroup.create(layout, f"job-warm-{suffix}", limits)
    stale = JobCgroup.create(layout, f"job-ev-{suffix}", limits)
    try:
        group.rename(f"job-ev-{suffix}")
        assert set(group.dirs.values()) == set(stale.dirs.values())
        assert all(path.is_dir() for path in group.dirs.values())
        assert not any((parent / f"job-warm-{suffix}").exists()
                       for parent in layout.parents.values())
    finally:
        group.remove()
        stale.remove()


async def test_a_one_shot_cli_run_warms_nothing(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    """`evalpod sandbox run` with EVALPOD_WARM_POOL_SIZE=1 runs its job cold and starts no
    warm sandbox (its process would wait at exit for a warm-up nothing uses)."""
    from evalpod.cli import sandbox_cmds
    from evalpod.settings import get_settings

    monkeypatch.setenv("EVALPOD_HOME", str(tmp_path))
    monkeypatch.setenv("EVALPOD_WARM_POOL_SIZE", "1")
    get_settings.cache_clear()
    starts: list[bool] = []
    original = LocalBackend.start

    async def recording(self: LocalBackend, job: SandboxJob, *, warm: bool = False
                        ) -> LocalProcess:
        starts.append(warm)
        return await original(self, job, warm=warm)

    monkeypatch.setattr(LocalBackend, "start", recording)
    loop = asyncio.get_running_loop()
    try:
        report = await sandbox_cmds._run_script(
            "def evaluate_model(model):\n    return {'ok': 1}\n", 60.0, 1024, 512, 0, False)
        await asyncio.sleep(0.2)  # a warm-up would have been started by now
    finally:
        get_settings.cache_clear()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    assert report["status"] == "succeeded", report
    assert starts == [False]
