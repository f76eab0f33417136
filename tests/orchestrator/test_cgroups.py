"""Per-job cgroups on the real host: limits, kill-everything, OOM detection."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.local.cgroups import (
    JobCgroup,
    current_thread_files,
    detect_layout,
    join_cgroups,
    move_current_thread,
    sweep_empty_job_cgroups,
)
from orchestrator.sandbox import ResourceLimits

pytestmark = pytest.mark.skipif(not detect_layout().usable, reason="no usable cgroups")

DAEMON = """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        sys.stdout.write(str(os.getpid()) + "\\n"); sys.stdout.flush()
        time.sleep(600)
    os._exit(0)
time.sleep(600)
"""


@pytest.fixture
def group() -> Iterator[JobCgroup]:
    limits = ResourceLimits(timeout_s=10, memory_mb=128, max_processes=32)
    cgroup = JobCgroup.create(detect_layout(), f"test-{uuid.uuid4().hex[:8]}", limits)
    yield cgroup
    cgroup.kill_all()
    cgroup.remove()


def start_in(group: JobCgroup, code: str) -> subprocess.Popen[str]:
    files = group.procs_files
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: join_cgroups(files),
    )


def test_limits_are_written(group: JobCgroup) -> None:
    mem = group.dirs["memory"]
    name = "memory.max" if (mem / "memory.max").exists() else "memory.limit_in_bytes"
    assert int((mem / name).read_text()) == 128 * 1024 * 1024
    assert (group.dirs["pids"] / "pids.max").read_text().strip() == "32"


def test_kill_all_reaches_double_forked_daemon(group: JobCgroup) -> None:
    proc = start_in(group, DAEMON)
    assert proc.stdout is not None
    daemon = int(proc.stdout.readline())
    assert daemon in group.pids()
    started = time.monotonic()
    assert group.kill_all()
    elapsed = time.monotonic() - started
    proc.wait()
    assert not Path(f"/proc/{daemon}").exists() or "Z" in Path(f"/proc/{daemon}/stat").read_text()
    assert group.pids() == []
    assert elapsed < 0.5


def test_pids_limit_caps_forks(group: JobCgroup) -> None:
    code = (
        "import os, time\ntry:\n    [os.fork() or time.sleep(30) for _ in range(100)]"
        "\nexcept OSError:\n    print('capped', flush=True)\n"
    )
    proc = start_in(group, code)
    assert proc.stdout is not None
    assert "capped" in proc.stdout.readline()
    assert (group.processes() or 0) <= 32
    group.kill_all()
    proc.wait()


def test_oom_kill_is_detected(group: JobCgroup) -> None:
    proc = start_in(group, "x = []\nwhile True:\n    x.append(bytearray(8 << 20))\n")
    assert proc.wait(timeout=30) == -9
    assert group.oom_killed()


def test_usage_reports_memory_and_processes(group: JobCgroup) -> None:
    proc = start_in(
        group, "import time; x = bytearray(20 << 20); print('ready', flush=True); time.sleep(30)"
    )
    assert proc.stdout is not None and proc.stdout.readline()
    assert (group.memory_bytes() or 0) >= 20 << 20
    assert group.processes() == 1
    group.kill_all()
    proc.wait()
    assert os.environ  # the host process is untouched


def test_sweep_removes_only_empty_job_cgroups(group: JobCgroup) -> None:
    layout = detect_layout()
    stale = JobCgroup.create(
        layout, f"job-stale-{uuid.uuid4().hex[:8]}", ResourceLimits(timeout_s=1, memory_mb=64)
    )
    busy_name = f"job-busy-{uuid.uuid4().hex[:8]}"
    busy = JobCgroup.create(layout, busy_name, ResourceLimits(timeout_s=1, memory_mb=64))
    proc = start_in(busy, "import time; print('up', flush=True); time.sleep(30)")
    try:
        assert proc.stdout is not None and proc.stdout.readline()
        # Best-effort housekeeping: an rmdir that loses a race is retried by the next pass.
        for _ in range(3):
            sweep_empty_job_cgroups(layout, min_age_s=0)
            if not any(path.exists() for path in stale.dirs.values()):
                break
            time.sleep(0.05)
        assert not any(path.exists() for path in stale.dirs.values())
        assert all(path.exists() for path in busy.dirs.values())
    finally:
        busy.kill_all()
        proc.wait()
        busy.remove()


ZOMBIE_MAKER = """
import os, sys, time
made = 0
try:
    for _ in range(N):
        if os.fork() == 0:
            os._exit(0)
        made += 1
except OSError:
    pass
sys.stdout.write(str(made) + "\\n"); sys.stdout.flush()
time.sleep(600)
"""


def test_unreaped_zombies_count_as_processes(group: JobCgroup) -> None:
    proc = start_in(group, ZOMBIE_MAKER.replace("N", "10"))
    assert proc.stdout is not None and proc.stdout.readline().strip() == "10"
    time.sleep(0.1)  # the children have exited and left the task list
    assert len(group.pids()) == 1
    assert group.processes() == 11
    assert not group.fork_refused()
    proc.kill()
    proc.wait()


def test_refused_fork_is_remembered(group: JobCgroup) -> None:
    proc = start_in(group, ZOMBIE_MAKER.replace("N", "100"))
    assert proc.stdout is not None and int(proc.stdout.readline()) == 31  # pids.max 32
    assert group.fork_refused()
    proc.kill()
    proc.wait()
    assert group.fork_refused()
    deadline = time.monotonic() + 5  # init reaps the orphaned zombies on its own time
    while group.pids() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert group.processes() == 0  # nothing left alive: no stale charge counts


def test_a_thread_moves_itself_in_and_back_and_its_fork_stays(group: JobCgroup) -> None:
    """A v1 thread move takes only the writer (no thread of the process stays behind
    elsewhere), a child it forks meanwhile is born inside, and the job's cgroup never
    lists the service's own pid while the thread passes through."""
    if group.thread_files is None:
        pytest.skip("cgroup v2: a domain cgroup takes no single thread")
    own = current_thread_files(group.layout)
    assert own is not None and all(Path(path).exists() for path in own)
    before = Path("/proc/thread-self/cgroup").read_text()
    move_current_thread(group.thread_files)
    try:
        assert os.getpid() not in group.pids()
        child = subprocess.Popen(["sleep", "30"])
    finally:
        move_current_thread(own)
    try:
        assert Path("/proc/thread-self/cgroup").read_text() == before
        assert group.pids() == [child.pid]
    finally:
        group.kill_all()
        child.wait()
