"""Per-job cgroups (v1 or v2): limits, usage, OOM detection and kill-everything."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from orchestrator.sandbox import ResourceLimits

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
PARENT_NAME = "evalpod"
V1_CONTROLLERS: tuple[str, ...] = ("memory", "pids", "cpu", "freezer")
REQUIRED_CONTROLLERS: frozenset[str] = frozenset({"memory", "pids"})
CPU_PERIOD_US = 100_000
# CPU weight of one busy process: cpu.shares (v1) and cpu.weight (v2) defaults.
V1_SHARES_PER_CPU = 1024
V2_WEIGHT_PER_CPU = 100
V1_MAX_SHARES = 262_144
V2_MAX_WEIGHT = 10_000
KILL_POLL_S = 0.002
# Where a cgroup v2 directory, which cannot be renamed, records the job it now runs.
JOB_XATTR = "user.evalpod.job"
SWEEP_MIN_AGE_S = 300.0


class CgroupVersion(StrEnum):
    v1 = "v1"
    v2 = "v2"
    none = "none"


@dataclass(frozen=True)
class CgroupLayout:
    """Where each usable controller's job cgroups live on this host."""

    version: CgroupVersion
    parents: dict[str, Path] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return self.version is not CgroupVersion.none and set(self.parents) >= REQUIRED_CONTROLLERS


def _write(path: Path, value: str) -> None:
    # One write(2), no buffered text file around it: a launch writes about ten of these
    # before bwrap starts. Raises OSError as the kernel refuses the value.
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, value.encode("ascii"))
    finally:
        os.close(fd)


def _read_all(path: str) -> bytes:
    """A cgroup file's whole content by plain reads (polled at every job's end)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _read_int(path: Path) -> int | None:
    try:
        text = _read_all(str(path)).decode("ascii").strip()
    except OSError:
        return None
    return None if text in ("", "max") else int(text.split()[0])


def _read_keyed(path: Path, key: str) -> int | None:
    try:
        for line in _read_all(str(path)).decode("ascii").splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        return None
    return None


def _probe_dir(parent: Path) -> bool:
    """Whether we can create and remove a child cgroup under `parent`."""
    try:
        parent.mkdir(exist_ok=True)
        probe = parent / f"probe-{os.getpid()}"
        probe.mkdir(exist_ok=True)
        probe.rmdir()
    except OSError:
        return False
    return True


def _detect_v2() -> CgroupLayout:
    parent = CGROUP_ROOT / PARENT_NAME
    try:
        available = set((CGROUP_ROOT / "cgroup.controllers").read_text().split())
        if not _probe_dir(parent):
            return CgroupLayout(CgroupVersion.none)
        wanted = available & {"memory", "pids", "cpu"}
        _write(parent / "cgroup.subtree_control", " ".join(f"+{c}" for c in sorted(wanted)))
        enabled = set((parent / "cgroup.subtree_control").read_text().split())
        if "cpu" in enabled:
            _set_parent_weight(parent / "cpu.weight", V2_WEIGHT_PER_CPU, V2_MAX_WEIGHT)
    except OSError as exc:
        log.warning("cgroup v2 present but not delegated to us: %s", exc)
        return CgroupLayout(CgroupVersion.none)
    return CgroupLayout(CgroupVersion.v2, {c: parent for c in enabled | {"freezer"}})


def _detect_v1() -> CgroupLayout:
    parents: dict[str, Path] = {}
    for controller in V1_CONTROLLERS:
        parent = CGROUP_ROOT / controller / PARENT_NAME
        if (CGROUP_ROOT / controller / "cgroup.procs").exists() and _probe_dir(parent):
            parents[controller] = parent
    if "cpu" in parents:
        _set_parent_weight(parents["cpu"] / "cpu.shares", V1_SHARES_PER_CPU, V1_MAX_SHARES)
    return CgroupLayout(CgroupVersion.v1 if parents else CgroupVersion.none, parents)


def _set_parent_weight(path: Path, per_cpu: int, most: int) -> None:
    """Weight all jobs together like one busy process per host CPU.

    A new cgroup weighs as much as one process, and every job sits under this parent:
    left at the default, all running jobs together would get one process's share of a
    busy host (measured: a no-op job 5x slower at load 12 on 2 cores). Each job's own
    quota still caps it.
    """
    try:
        _write(path, str(min(most, per_cpu * (os.cpu_count() or 1))))
    except OSError as exc:
        log.warning("could not set the CPU weight of %s: %s", path.parent, exc)


_usable_layout: CgroupLayout | None = None


def detect_layout() -> CgroupLayout:
    """v2 when /sys/fs/cgroup is unified, else v1 controllers. A usable layout is probed
    once per process; an unusable one is probed again on the next call, so a probe that
    fails once (another process sweeping job cgroups at that moment) does not leave a
    long-running worker unable to sandbox until it restarts."""
    global _usable_layout
    if _usable_layout is not None:
        return _usable_layout
    layout = _detect_v2() if (CGROUP_ROOT / "cgroup.controllers").exists() else _detect_v1()
    if layout.usable:
        _usable_layout = layout
    return layout


@dataclass
class JobCgroup:
    """The cgroup(s) of one job; `procs_files` is what a child writes its pid into."""

    layout: CgroupLayout
    dirs: dict[str, Path]

    @property
    def procs_files(self) -> list[str]:
        return sorted({str(path / "cgroup.procs") for path in self.dirs.values()})

    @property
    def thread_files(self) -> list[str] | None:
        """v1 `tasks` files, where a thread moves itself without the global lock that
        makes moving a whole process cost an RCU grace period (see `move_current_thread`);
        None on v2, where a domain cgroup takes no single thread."""
        if self.layout.version is not CgroupVersion.v1:
            return None
        return sorted({str(path / "tasks") for path in self.dirs.values()})

    @classmethod
    def create(cls, layout: CgroupLayout, name: str, limits: ResourceLimits) -> JobCgroup:
        dirs = {controller: parent / name for controller, parent in layout.parents.items()}
        for path in set(dirs.values()):
            path.mkdir(exist_ok=True)
        group = cls(layout, dirs)
        group._apply_limits(limits)
        return group

    def apply_limits(self, limits: ResourceLimits) -> None:
        """Write `limits` (memory, tasks, CPU quota and weight) over the current ones: a
        warm sandbox's cgroup takes its job's limits at assignment. Raises OSError (a
        memory limit below what the cgroup already uses may be refused: EBUSY on v1)."""
        if self.layout.version is CgroupVersion.v1:
            memsw = self.dirs["memory"] / "memory.memsw.limit_in_bytes"
            memory = limits.memory_mb * 1024 * 1024
            current = _read_int(self.dirs["memory"] / "memory.limit_in_bytes") or 0
            if memory > current and memsw.exists():
                _write(memsw, str(memory))  # raised first: v1 refuses memory above memsw
        self._apply_limits(limits)

    def rename(self, name: str) -> None:
        """Name the cgroup `name` from now on: a warm sandbox's cgroup takes its job's name
        at assignment, so the job is found by its own name like a cold one. cgroup v1
        renames the directories (a stale empty one of that name is removed first); v2
        refuses to rename a cgroup, so there the name is written to the `user.evalpod.job`
        xattr (`JOB_XATTR`) of each directory. Never raises: the job's confinement does not
        depend on the name, so a failure is logged and the job runs under the old one."""
        for controller, path in list(self.dirs.items()):
            target = path.with_name(name)
            if target == path:
                continue
            if any(done == target for done in self.dirs.values()):
                self.dirs[controller] = target  # one directory shared by several controllers
                continue
            try:
                try:
                    self._rename_dir(path, target)
                except PermissionError:  # v2: cgroup directories cannot be renamed
                    os.setxattr(path, JOB_XATTR, name.encode())
                    continue
            except OSError as exc:
                log.warning("cgroup %s keeps its name (not %s): %s", path, name, exc)
                continue
            self.dirs[controller] = target

    @staticmethod
    def _rename_dir(path: Path, target: Path) -> None:
        try:
            os.rename(path, target)
        except OSError as exc:
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.EBUSY):
                raise
            target.rmdir()  # left empty by an earlier attempt of the job; live ones refuse
            os.rename(path, target)

    def set_cpu_weight(self, cpus: float) -> None:
        """Weigh the cgroup like `cpus` busy processes (v2 `cpu.weight`, v1 `cpu.shares`;
        a fraction weighs less than one); nothing without a cpu controller. A warm
        sandbox warms up at a fraction, so running jobs keep most of a busy host."""
        if "cpu" not in self.dirs:
            return
        if self.layout.version is CgroupVersion.v2:
            weight = max(1, min(V2_MAX_WEIGHT, round(V2_WEIGHT_PER_CPU * cpus)))
            _write(self.dirs["cpu"] / "cpu.weight", str(weight))
        else:
            shares = max(2, min(V1_MAX_SHARES, round(V1_SHARES_PER_CPU * cpus)))
            _write(self.dirs["cpu"] / "cpu.shares", str(shares))

    def _apply_limits(self, limits: ResourceLimits) -> None:
        memory = limits.memory_mb * 1024 * 1024
        quota = max(1000, int(limits.cpus * CPU_PERIOD_US))
        if self.layout.version is CgroupVersion.v2:
            base = self.dirs["memory"]
            _write(base / "memory.max", str(memory))
            with contextlib.suppress(FileNotFoundError):
                _write(base / "memory.swap.max", "0")
            _write(base / "pids.max", str(limits.max_processes))
            if "cpu" in self.dirs:
                _write(base / "cpu.max", f"{quota} {CPU_PERIOD_US}")
                _write(
                    base / "cpu.weight", str(self._weight(limits, V2_WEIGHT_PER_CPU, V2_MAX_WEIGHT))
                )
            return
        mem = self.dirs["memory"]
        _write(mem / "memory.limit_in_bytes", str(memory))
        memsw = mem / "memory.memsw.limit_in_bytes"
        if memsw.exists():  # equal to the RAM limit: no swap at all
            _write(memsw, str(memory))
        with contextlib.suppress(OSError):
            _write(mem / "memory.swappiness", "0")
        _write(self.dirs["pids"] / "pids.max", str(limits.max_processes))
        if "cpu" in self.dirs:
            _write(self.dirs["cpu"] / "cpu.cfs_period_us", str(CPU_PERIOD_US))
            _write(self.dirs["cpu"] / "cpu.cfs_quota_us", str(quota))
            shares = self._weight(limits, V1_SHARES_PER_CPU, V1_MAX_SHARES)
            _write(self.dirs["cpu"] / "cpu.shares", str(shares))

    @staticmethod
    def _weight(limits: ResourceLimits, per_cpu: int, most: int) -> int:
        """A job entitled to N cores weighs as much as N busy processes."""
        return max(1, min(most, round(per_cpu * max(limits.cpus, 1.0))))

    def pids(self) -> list[int]:
        """The job's processes. Never the service's own pid: the thread that starts the
        job passes through its cgroups (`move_current_thread`), and v1 lists a process
        when any of its threads is inside."""
        pids: set[int] = set()
        for path in {str(path) for path in self.dirs.values()}:
            with contextlib.suppress(OSError):
                pids.update(int(p) for p in _read_all(os.path.join(path, "cgroup.procs")).split())
        pids.discard(os.getpid())
        return sorted(pids)

    def memory_bytes(self) -> int | None:
        name = (
            "memory.current"
            if self.layout.version is CgroupVersion.v2
            else ("memory.usage_in_bytes")
        )
        return _read_int(self.dirs["memory"] / name)

    def processes(self) -> int | None:
        """Tasks as pids.max counts them: threads and unreaped zombies included.

        A zombie has left the task list but still holds its pid charge until reaped, so
        pids.current is what the limit compares. It can keep a stale charge once every
        task is gone, so an empty task list reads as 0.
        """
        name = "cgroup.threads" if self.layout.version is CgroupVersion.v2 else "tasks"
        try:
            live = len((self.dirs["pids"] / name).read_text().split())
        except OSError:
            return None
        if live == 0:
            return 0
        return max(live, _read_int(self.dirs["pids"] / "pids.current") or 0)

    def fork_refused(self) -> bool:
        """Whether the kernel refused a fork or thread because pids.max was reached."""
        return bool(_read_keyed(self.dirs["pids"] / "pids.events", "max"))

    def oom_killed(self) -> bool:
        if self.layout.version is CgroupVersion.v2:
            count = _read_keyed(self.dirs["memory"] / "memory.events", "oom_kill")
        else:
            count = _read_keyed(self.dirs["memory"] / "memory.oom_control", "oom_kill")
        return bool(count)

    def _freeze(self, frozen: bool) -> None:
        path = self.dirs.get("freezer")
        if path is None:
            return
        with contextlib.suppress(OSError):
            if self.layout.version is CgroupVersion.v2:
                _write(path / "cgroup.freeze", "1" if frozen else "0")
            else:
                _write(path / "freezer.state", "FROZEN" if frozen else "THAWED")

    def adopt(self, pids: list[int]) -> None:
        """Move processes (with all their threads) into every directory of this cgroup;
        what they fork afterwards is born inside. One pid per write, as the kernel reads
        them. Raises OSError (ProcessLookupError for a pid that is gone)."""
        for procs in self.procs_files:
            fd = os.open(procs, os.O_WRONLY | os.O_CLOEXEC)
            try:
                for pid in pids:
                    os.write(fd, str(pid).encode())
            finally:
                os.close(fd)

    def kill_all(self, timeout_s: float = 5.0) -> bool:
        """SIGKILL every task (frozen first, so nothing forks meanwhile); True when empty."""
        if not self.pids():  # the common end of a job: nothing to freeze or kill
            return True
        kill_file = self.dirs["memory"] / "cgroup.kill"
        if self.layout.version is CgroupVersion.v2 and kill_file.exists():
            _write(kill_file, "1")
        else:
            self._freeze(True)
            for pid in self.pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self._freeze(False)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            remaining = self.pids()
            if not remaining:
                return True
            for pid in remaining:  # forked between the listing and the freeze
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(KILL_POLL_S)
        return not self.pids()

    def remove(self, timeout_s: float = 0.5) -> None:
        """rmdir each directory; EBUSY (the last task still leaving) is retried briefly."""
        deadline = time.monotonic() + timeout_s
        for path in set(self.dirs.values()):
            delay = 0.0005
            while True:
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as exc:
                    if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                        log.warning("could not remove cgroup %s: %s", path, exc)
                        break
                    time.sleep(delay)
                    delay = min(delay * 2, 0.01)


def sweep_empty_job_cgroups(layout: CgroupLayout, min_age_s: float = SWEEP_MIN_AGE_S) -> int:
    """Remove job cgroups left empty by a crashed service; live ones refuse rmdir (EBUSY).

    `min_age_s` spares a cgroup another worker has just created and not yet joined.
    """
    removed = 0
    now = time.time()
    for parent in set(layout.parents.values()):
        for path in parent.glob("job-*"):
            try:
                # cgroupfs stamps mtimes with a coarser clock that can run ahead of
                # time.time(), so a zero minimum age must not depend on the difference.
                young = min_age_s > 0 and now - path.stat().st_mtime < min_age_s
                if not young and not (path / "cgroup.procs").read_text().strip():
                    path.rmdir()
                    removed += 1
            except OSError as exc:
                log.debug("sweep left %s: %s", path, exc)
                continue
    return removed


def join_cgroups(procs_files: list[str]) -> None:
    """Move the calling process into the job's cgroups (runs in the child before exec)."""
    pid = str(os.getpid()).encode()
    for procs in procs_files:
        fd = os.open(procs, os.O_WRONLY)
        try:
            os.write(fd, pid)
        finally:
            os.close(fd)


def current_thread_files(layout: CgroupLayout) -> list[str] | None:
    """The v1 `tasks` files of the calling thread's own cgroups, one per hierarchy of
    `layout` (where `move_current_thread` takes it back); None when they cannot be told
    (then the thread must not leave them)."""
    own: dict[str, str] = {}
    try:
        # Plain reads and string joins: this runs on every launch, before bwrap starts.
        fd = os.open("/proc/thread-self/cgroup", os.O_RDONLY | os.O_CLOEXEC)
        try:
            text = os.read(fd, 65536).decode("ascii")
        finally:
            os.close(fd)
        for line in text.splitlines():
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(","):
                own[controller] = path
        files = {
            os.path.join(str(parent.parent), own[controller].lstrip("/"), "tasks")
            for controller, parent in layout.parents.items()
        }
    except (OSError, ValueError, KeyError) as exc:
        log.warning("cannot tell this thread's own cgroups: %s", exc)
        return None
    return sorted(files)


def move_current_thread(thread_files: list[str]) -> None:
    """Move the calling thread (only it) into each v1 cgroup whose `tasks` file is named.

    Writing 0 moves the writer itself. Unlike a pid written to `cgroup.procs` (what
    `JobCgroup.adopt` does), that takes no write lock on every thread group of the host,
    whose first taking after a quiet spell waits an RCU grace period: about 11 ms on an
    idle 2-core host, tens of ms under load. A process forked by the thread is born in
    its cgroups. Raises OSError.
    """
    for tasks in thread_files:
        fd = os.open(tasks, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, b"0")
        finally:
            os.close(fd)
