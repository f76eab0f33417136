"""The `local` backend: each job in bubblewrap + seccomp + a per-job cgroup."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from evalpod.settings import Settings, get_settings
from orchestrator.lines import LineSplitter
from orchestrator.local import bwrap, etc_files
from orchestrator.local.cgroups import (
    CgroupLayout,
    JobCgroup,
    current_thread_files,
    detect_layout,
    sweep_empty_job_cgroups,
)
from orchestrator.local.doctor import DoctorReport, Feature, probe, setpriv_path
from orchestrator.local.pool import WARM_FLAG, WarmPool, pool_enabled
from orchestrator.local.result_file import read_result
from orchestrator.local.seccomp import SECCOMP_KILL_SIGNAL, seccomp_memfd
from orchestrator.local.spawn import Child, SpawnRequest, spawn
from orchestrator.sandbox import (
    BackendHealth,
    HarnessResult,
    HarnessSpec,
    ResourceLimits,
    ResourceUsage,
    ResultRejected,
    SandboxBackend,
    SandboxJob,
    SandboxProcess,
    SandboxUnavailable,
    Violation,
    ViolationKind,
)

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
HARNESS_DIR = REPO_ROOT / "sandbox_images" / "harness"
SHIPPED_TASKS_DIR = REPO_ROOT / "sandbox_images" / "lm_eval_tasks"
MAX_LINE_BYTES = 64 * 1024
READ_CHUNK = 64 * 1024
OPEN_FILES = 4096
MIB = 1024 * 1024
DISCARD_TIMEOUT_S = 1.0
SMOKE_TIMEOUT_S = 60.0
ATTACH_TIMEOUT_S = 30.0
ATTACH_POLL_S = 0.0005
# bwrap builds a sandbox in a few ms, but the event loop's timers tick in whole ms
# (epoll's resolution: asyncio.sleep(0.0005) waits about 1.1 ms), half a tick lost on
# average at each of the two waits of a launch. For FINE_POLL_FOR_S after the spawn the
# launch polls with sleeps of FINE_POLL_S instead, yielding to the loop between them.
FINE_POLL_S = 0.0002
FINE_POLL_FOR_S = 0.01
# After bwrap's exit, how long the sandbox's last tasks may take to leave on their own
# before they are frozen and killed (`LocalProcess._emptied_on_its_own`).
EXIT_GRACE_S = 0.05
# /out counts as full (a `disk` violation) once less than this is left of its cap.
OUT_FULL_MARGIN = 16 * 1024
SMOKE_MEMORY_MB = 512
# A warm sandbox warms up weighing a quarter of a busy process: jobs running meanwhile
# keep most of the CPU, and on a busy host the warm-up still progresses.
WARM_CPU_WEIGHT = 0.25
ETC_DATA = {
    "/etc/passwd": (
        "root:x:0:0::/:/usr/sbin/nologin\nnobody:x:65534:65534::/work:/usr/sbin/nologin\n"
    ),
    "/etc/group": "root:x:0:\nnogroup:x:65534:\n",
    "/etc/hosts": "127.0.0.1 localhost\n::1 localhost\n",
}


@lru_cache(maxsize=8)
def _query_prefixes(python: str) -> tuple[str, str]:
    code = "import sys; print(sys.prefix); print(sys.base_prefix)"
    try:
        out = subprocess.run(
            [python, "-I", "-c", code], capture_output=True, text=True, check=True, timeout=30
        ).stdout
        prefix, base = out.splitlines()
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise SandboxUnavailable(
            f"the runtime interpreter {python} does not run (EVALPOD_RUNTIME_PYTHON): {exc}"
        ) from exc
    return prefix, base


@lru_cache(maxsize=8)
def runtime_prefixes(python: str) -> tuple[str, ...]:
    """sys.prefix and sys.base_prefix of the interpreter that runs inside the sandbox.

    Raises `SandboxUnavailable` when that interpreter cannot be started.
    """
    # Compared unresolved: every venv's python links to the same base interpreter, and
    # each venv has its own sys.prefix.
    if os.path.abspath(python) == os.path.abspath(sys.executable):
        found = [sys.prefix, sys.base_prefix]
    else:
        found = list(_query_prefixes(python))
    # Each prefix both as the interpreter names it (a venv reached through a symlink runs
    # from that path) and resolved (where its python's symlinks lead).
    named = [os.path.normpath(os.path.abspath(p)) for p in found]
    return tuple(dict.fromkeys([*named, *(os.path.realpath(p) for p in found)]))


@dataclass(frozen=True)
class RuntimeLayout:
    """Where the runtime interpreter is bound inside the sandbox."""

    python: str  # the interpreter's path inside the sandbox
    venv_prefix: str | None  # host venv bound at bwrap.RUNTIME_DIR (None: not a venv)
    prefixes: tuple[str, ...]  # bound each at its own path


@lru_cache(maxsize=8)
def runtime_layout(python: str) -> RuntimeLayout:
    """A venv runs from a neutral path; its base interpreter stays where it is.

    The venv's python links to the base interpreter by absolute path and its
    pyvenv.cfg names the base's home, so only the venv itself can move. Raises
    `SandboxUnavailable` when the interpreter cannot be started.
    """
    prefixes = runtime_prefixes(python)
    if os.path.abspath(python) == os.path.abspath(sys.executable):
        venv, base = sys.prefix, sys.base_prefix
    else:
        venv, base = _query_prefixes(python)
    venv = os.path.normpath(os.path.abspath(venv))
    inside = os.path.relpath(python, venv)
    if venv == os.path.normpath(os.path.abspath(base)) or inside.startswith(".."):
        return RuntimeLayout(python=python, venv_prefix=None, prefixes=prefixes)
    rest = tuple(p for p in prefixes if p not in (venv, os.path.realpath(venv)))
    python_inside = f"{bwrap.RUNTIME_DIR}/{inside}"
    return RuntimeLayout(python=python_inside, venv_prefix=venv, prefixes=rest)


def _rlimits(limits: ResourceLimits) -> dict[int, tuple[int, int]]:
    cpu_s = math.ceil(limits.timeout_s * max(limits.cpus, 1.0)) + 10
    # Above the tmpfs size, so a full work dir shows as ENOSPC (a `disk` violation).
    file_bytes = limits.disk_mb * MIB + limits.max_result_bytes
    return {
        resource.RLIMIT_CORE: (0, 0),
        resource.RLIMIT_NOFILE: (OPEN_FILES, OPEN_FILES),
        resource.RLIMIT_FSIZE: (file_bytes, file_bytes),
        resource.RLIMIT_CPU: (cpu_s, cpu_s + 5),
    }


RLIMIT_NAMES = {
    resource.RLIMIT_CORE: "RLIMIT_CORE",
    resource.RLIMIT_NOFILE: "RLIMIT_NOFILE",
    resource.RLIMIT_FSIZE: "RLIMIT_FSIZE",
    resource.RLIMIT_CPU: "RLIMIT_CPU",
}


def _confine(pids: list[int], cgroup: JobCgroup | None, limits: ResourceLimits) -> None:
    """Put bwrap and the sandbox's pid 1 under the job's rlimits, and into its cgroups
    when given (those it was not born in: cgroup v2, or a v1 thread move that failed).

    Called while bwrap waits on its block fd, before any job code exists: everything the
    job runs descends from these two, so it inherits both. Plain syscalls from the
    service instead of work in the child before exec: no `preexec_fn` (a fork of the
    whole service) and no helper processes (sh to join, prlimit to limit), two execs a
    loaded host schedules late. Raises OSError (ProcessLookupError when one is gone).
    """
    if cgroup is not None:
        cgroup.adopt(pids)
    for pid in pids:
        for kind, pair in _rlimits(limits).items():
            resource.prlimit(pid, kind, pair)


def _data_fd(text: str | bytes) -> int:
    data = text.encode() if isinstance(text, str) else text
    fd = os.memfd_create("evalpod-data", os.MFD_CLOEXEC)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _exit_code(returncode: int) -> int:
    """bwrap reports a job killed by signal N as 128+N; turn that back into -N."""
    if 128 < returncode <= 128 + 64:
        return -(returncode - 128)
    return returncode


class LocalProcess(SandboxProcess):
    def __init__(
        self,
        job: SandboxJob,
        proc: Child,
        cgroup: JobCgroup | None,
        child_pid: int | None,
        block_fd: int | None = None,
    ) -> None:
        self.job = job
        self._proc = proc
        self._cgroup = cgroup
        self._child_pid = child_pid
        self._block_fd = block_fd
        self._exit: int | None = None
        self._cleaned = False
        self._emptied = False  # the cgroup seen empty after bwrap was reaped
        self._mounts: _SandboxMounts | None = None

    async def output_lines(self) -> AsyncIterator[str]:
        stream = self._proc.stdout
        if stream is None:
            return
        splitter = LineSplitter(MAX_LINE_BYTES)
        while chunk := await stream.read(READ_CHUNK):
            for line in splitter.feed(chunk):
                yield line
        for line in splitter.flush():
            yield line

    async def _discard_output(self) -> None:
        """Read what a stopped reader left in the pipe, so its transport closes cleanly."""
        stream = self._proc.stdout
        if stream is None or stream.at_eof():
            return
        with contextlib.suppress(TimeoutError, ValueError):
            async with asyncio.timeout(DISCARD_TIMEOUT_S):
                while await stream.read(READ_CHUNK):
                    pass

    async def wait(self) -> int | None:
        # Returns when bwrap is reaped, not when its pipes close (a stopped reader may
        # leave data in them).
        if self._exit is None:
            self._exit = _exit_code(await self._proc.wait())
        return self._exit

    async def kill(self) -> None:
        if self._cgroup is not None:
            # After a normal exit the cgroup empties on its own: no freeze, no thread hop.
            if (
                self._cgroup.pids()
                and not await self._emptied_on_its_own()
                and not await asyncio.to_thread(self._cgroup.kill_all)
            ):
                log.error("job %s: tasks survive in its cgroup after SIGKILL", self.job.job_id)
            else:
                # bwrap reaped and nothing left: nothing can start in the cgroup again.
                self._emptied = self._proc.returncode is not None
        elif self._proc.returncode is None:
            # Without cgroups the pid namespace is the net: bwrap's death takes its
            # pid 1 with it (--die-with-parent), and pid 1's death the whole namespace.
            log.warning("job %s: no cgroup, killing the bwrap process only", self.job.job_id)
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._proc.pid, signal.SIGKILL)
        await self.wait()

    async def _emptied_on_its_own(self) -> bool:
        """Once bwrap has exited: whether its cgroup empties within EXIT_GRACE_S unkilled.

        bwrap reports the job's end as soon as the sandbox's pid 1 passes it the exit
        status; pid 1 then still tears the sandbox down (its mounts; the rest of its pid
        namespace, which the kernel kills with it, so nothing of the sandbox outlives
        it). Freezing and killing what was leaving anyway (a worker thread, then 2 ms
        polls) added about 3 ms to the end of every job. False at once while bwrap runs.
        """
        if self._proc.returncode is None or self._cgroup is None:
            return False
        deadline = time.monotonic() + EXIT_GRACE_S
        while time.monotonic() < deadline:
            time.sleep(FINE_POLL_S)
            await asyncio.sleep(0)
            if not self._cgroup.pids():
                return True
        return False

    async def usage(self) -> ResourceUsage:
        memory = processes = None
        if self._cgroup is not None:
            memory, processes = self._cgroup.memory_bytes(), self._cgroup.processes()
        return ResourceUsage(memory_bytes=memory, processes=processes, disk_bytes=self._disk())

    async def attach(
        self, timeout_s: float = ATTACH_TIMEOUT_S, since: float | None = None
    ) -> bool:
        """Hold fds on the sandbox's writable mounts, then let the job start.

        bwrap waits on the block fd after building the sandbox, so no job code runs
        before the host holds /out (where the result is read from) and the scratch
        mounts (disk usage, still readable after the sandbox is gone). False when the
        sandbox did not come up in time; True also when bwrap died first (its exit
        status and output then say why). `since`: when bwrap was started (`_pause`).
        """
        deadline = time.monotonic() + timeout_s
        since = time.monotonic() if since is None else since
        while self._child_pid is not None and self._proc.returncode is None:
            exports = {m.target: m.source for m in self.job.mounts if m.writable}
            self._mounts = _open_sandbox_mounts(self._child_pid, exports)
            if self._mounts is not None:
                self._release()
                return True
            if time.monotonic() > deadline:
                return False
            await _pause(since)
        self._release()
        return True

    async def until_ready(
        self, marker: bytes, timeout_s: float, stop: asyncio.Event | None = None
    ) -> None:
        """Read the warm harness's output up to and including the `marker` line (what it
        printed before is the harness's own, never a job's). Raises `SandboxUnavailable`
        when the sandbox ends, stays silent for `timeout_s`, or `stop` is set first."""
        reading = asyncio.ensure_future(self._read_until(marker))
        stopping = asyncio.ensure_future((stop or asyncio.Event()).wait())
        try:
            done, _ = await asyncio.wait(
                {reading, stopping}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not reading.done():
                reading.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reading
        if reading not in done:
            why = "the pool closed" if stopping in done else f"not ready in {timeout_s:g} s"
            raise SandboxUnavailable(f"the warm sandbox was dropped: {why}")
        reading.result()

    async def _read_until(self, marker: bytes) -> None:
        stream = self._proc.stdout
        if stream is None:
            raise SandboxUnavailable("the warm sandbox has no output pipe")
        seen = b""
        while True:
            try:
                await stream.readuntil(marker + b"\n")
                return
            except asyncio.LimitOverrunError as exc:
                seen = (seen + await stream.readexactly(exc.consumed))[-4096:]
            except asyncio.IncompleteReadError as exc:
                tail = (seen + exc.partial)[-2000:].decode(errors="replace")
                raise SandboxUnavailable(f"the warm sandbox ended before it was ready: {tail}"
                                         ) from exc

    def boost(self, cpus: float) -> None:
        """Give a still-warming sandbox the CPU weight of a job of `cpus` (a job waits for
        it). Raises OSError."""
        if self._cgroup is not None:
            self._cgroup.set_cpu_weight(cpus)

    def warm_usable(self) -> bool:
        """Whether this warm sandbox can still take a job: alive, its stdin open, and no
        limit event (OOM kill, refused fork) recorded while it warmed up."""
        if self._proc.returncode is not None or self._proc.stdin is None:
            return False
        cgroup = self._cgroup
        return cgroup is None or not (cgroup.oom_killed() or cgroup.fork_refused())

    async def assign(self, job: SandboxJob, message: bytes) -> None:
        """Give this warm sandbox its one job: the job's cgroup limits are written, then
        `message` (the spec and rlimits, one JSON line) goes down stdin, which is closed.
        Raises OSError/ConnectionError when the sandbox is gone."""
        if self._cgroup is not None:
            self._cgroup.apply_limits(job.limits)
            self._cgroup.rename(f"job-{job.job_id}")  # found by its job, as a cold one is
        self.job = job
        stdin = self._proc.stdin
        if stdin is None:
            raise ConnectionError("the warm sandbox's stdin is closed")
        stdin.write(message)
        await stdin.drain()
        stdin.close()
        await stdin.wait_closed()

    def _release(self) -> None:
        if self._block_fd is None:
            return
        with contextlib.suppress(OSError):  # EPIPE: bwrap is already gone
            os.write(self._block_fd, b"1")
        os.close(self._block_fd)
        self._block_fd = None

    def _disk(self) -> int | None:
        if self._mounts is None:
            return None
        return sum(_used_bytes(fd) for fd in (*self._mounts.scratch, self._mounts.out))

    def _disk_breach(self) -> str | None:
        if self._mounts is None:
            return None
        limit = self.job.limits.disk_mb * MIB
        scratch = sum(_used_bytes(fd) for fd in self._mounts.scratch)
        if scratch >= limit - min(limit // 50, MIB):
            return f"work dir filled {self.job.limits.disk_mb} MiB"
        info = os.fstatvfs(self._mounts.out)
        if info.f_bavail * info.f_frsize < OUT_FULL_MARGIN:
            cap = info.f_blocks * info.f_frsize
            return f"/out filled its {cap} byte cap (it only holds the result file)"
        return None

    async def observed_violation(self) -> Violation | None:
        if self._cgroup is not None and self._cgroup.oom_killed():
            limit = self.job.limits.memory_mb
            return Violation(kind=ViolationKind.memory, detail=f"out of memory ({limit} MiB)")
        if self._cgroup is not None and self._cgroup.fork_refused():
            limit = self.job.limits.max_processes
            detail = f"reached {limit} tasks (zombies count): a new task was refused"
            return Violation(kind=ViolationKind.processes, detail=detail)
        if (breach := self._disk_breach()) is not None:
            return Violation(kind=ViolationKind.disk, detail=breach)
        code = self._exit if self._exit is not None else self._proc.returncode
        if code is not None and _exit_code(code) == -SECCOMP_KILL_SIGNAL:
            return Violation(kind=ViolationKind.syscall, detail="killed by seccomp (SIGSYS)")
        if code is not None and _exit_code(code) == -signal.SIGXCPU:
            return Violation(kind=ViolationKind.timeout, detail="CPU time limit exceeded")
        return None

    async def collect_result(self) -> HarnessResult:
        """The result file; first, what the job wrote to writable data mounts is copied
        to their host directories (regular files and directories only, never followed)."""
        if self._mounts is None:
            raise ResultRejected("no result file was written (the sandbox never started)")
        for host_dir, fd in self._mounts.exports.items():
            cap = self.job.limits.disk_mb * MIB
            await asyncio.to_thread(copy_out_tree, fd, host_dir, cap)
        return read_result(self._mounts.out, self.job.limits.max_result_bytes)

    async def cleanup(self) -> None:
        if self._cleaned:
            return
        self._cleaned = True
        if self._proc.returncode is None or (
            self._cgroup and not self._emptied and self._cgroup.pids()
        ):
            await self.kill()
        await self._discard_output()
        self._proc.close()
        self._release()
        if self._mounts is not None:
            for fd in (*self._mounts.scratch, self._mounts.out):
                with contextlib.suppress(OSError):
                    os.close(fd)
        if self._cgroup is not None:
            self._cgroup.remove()


@dataclass
class _Launch:
    """Host-side fds of one launch: `pass_fds` are closed in the parent once bwrap has them."""

    argv: list[str]
    pass_fds: list[int]
    info_read: int
    block_write: int


@dataclass(frozen=True)
class _SandboxMounts:
    """Host fds on the sandbox's writable mounts (all tmpfs), opened before the job ran."""

    scratch: tuple[int, ...]  # /work, /tmp, /dev/shm and writable data mounts
    out: int
    exports: dict[Path, int] = field(default_factory=dict)  # host dir -> its tmpfs


def copy_out_tree(src_fd: int, dest: Path, max_bytes: int, depth: int = 4) -> int:
    """Copy a sandbox-written tree (an fd on its tmpfs) into the host directory `dest`.

    Every name is opened with O_NOFOLLOW relative to a directory fd; symlinks, devices
    and FIFOs are skipped, the tree at most `depth` levels deep and `max_bytes` in all
    (the tmpfs cap already bounds it). `dest` is the host's own: the sandbox never saw
    it. Returns the bytes copied.
    """
    copied = 0
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    for entry in os.scandir(src_fd):
        try:
            fd = os.open(entry.name, flags, dir_fd=src_fd)
        except OSError:  # ELOOP: a symlink; ENXIO: a socket
            continue
        try:
            info = os.fstat(fd)
            target = dest / entry.name
            if stat.S_ISDIR(info.st_mode) and depth > 1:
                target.mkdir(mode=0o755, exist_ok=True)
                copied += copy_out_tree(fd, target, max_bytes - copied, depth - 1)
            elif stat.S_ISREG(info.st_mode):
                if copied + info.st_size > max_bytes:
                    raise ResultRejected(f"the job's exports exceed {max_bytes} bytes")
                with open(target, "wb") as sink:
                    while chunk := os.read(fd, READ_CHUNK * 16):
                        sink.write(chunk)
                copied += info.st_size
        finally:
            os.close(fd)
    return copied


def _used_bytes(fd: int) -> int:
    info = os.fstatvfs(fd)
    return (info.f_blocks - info.f_bfree) * info.f_frsize


class LocalBackend(SandboxBackend):
    name = "local"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        configured = settings.runtime_python
        # A bare name is looked up on the service's PATH: the sandbox's PATH differs.
        found = shutil.which(configured) if configured and "/" not in configured else None
        self.python = os.path.abspath(found or configured or sys.executable)
        # The host checks once they passed: probes are cached per process anyway, so
        # later launches skip the thread hop that runs them.
        self._host_ok: DoctorReport | None = None
        self._pool: WarmPool | None = None

    @classmethod
    def from_settings(cls) -> LocalBackend:
        return cls(get_settings())

    def doctor(self) -> DoctorReport:
        return probe(self.settings.bwrap_path)

    async def check_ready(self) -> DoctorReport:
        """The host probes plus one real job, so `ready` means a job can run here.

        The job is a no-op script on the stub model through the same launch path as any
        evaluation (runtime binds, seccomp, cgroup, result hand-off); its failure is a
        required `job_runs` feature that failed, with the job's last output as detail.
        """
        report = self.doctor()
        script = "def evaluate_model(model):\n    return {'ready': 1}\n"
        limits = ResourceLimits(timeout_s=SMOKE_TIMEOUT_S, memory_mb=SMOKE_MEMORY_MB)
        job = SandboxJob(job_id=f"doctor-{os.getpid()}", script=script, limits=limits)

        async def discard(_line: str) -> None:
            return None

        try:
            outcome = await self.run(job, discard)
        except SandboxUnavailable as exc:
            ok, detail = False, f"not run: {exc}"
        else:
            ok = outcome.status == "succeeded" and outcome.result == {"ready": 1}
            last = outcome.stdout_tail.strip().splitlines()[-1:] or [""]
            detail = (
                f"ran with {self.python} in {outcome.duration_s:.3f} s"
                if ok
                else f"{outcome.status} (exit {outcome.exit_code}): {outcome.error or last[0]}"
            )
        finally:
            await self.aclose()  # a one-off check: no warm sandbox outlives it
        feature = Feature(name="job_runs", ok=ok, required=True, detail=detail)
        return report.model_copy(update={"features": [*report.features, feature]})

    async def health(self) -> BackendHealth:
        report = await asyncio.to_thread(self.doctor)
        detail = {f.name: f.ok for f in report.features}
        return BackendHealth(ok=report.ok, backend=self.name, detail=detail)

    def _check_host(self) -> DoctorReport:
        report = self.doctor()
        if not report.ok:
            # The probes are cached; a failed one may have been transient (a cgroup probe
            # racing another process's sweep), so probe afresh before refusing the job.
            clear = getattr(probe, "cache_clear", None)
            if clear is not None:
                clear()
            report = self.doctor()
        _sweep_once()
        if report.bwrap_path is None:
            raise SandboxUnavailable("bubblewrap (bwrap) is not installed")
        if not report.ok and not self.settings.allow_weak_sandbox:
            missing = ", ".join(report.missing())
            raise SandboxUnavailable(
                f"isolation features missing on this host: {missing}"
                " (see `evalpod doctor`; EVALPOD_ALLOW_WEAK_SANDBOX=1 to run anyway)"
            )
        return report

    def _task_dirs(self) -> tuple[Path, ...]:
        dirs = [SHIPPED_TASKS_DIR, self.settings.lm_eval_tasks_dir]
        return tuple(d.resolve() for d in dirs if d is not None and d.is_dir())

    def _spec(self, job: SandboxJob, tasks: bool, *, inline: bool = False) -> str:
        return HarnessSpec(
            kind=job.kind,
            script=job.script if inline else None,
            model_path="/model" if job.model_path else None,
            model_id=job.model_id,
            shadow=job.shadow,
            tasks=job.tasks,
            task_include_path=bwrap.TASKS_DIR if tasks else None,
            num_fewshot=job.num_fewshot,
            limit=job.limit,
            seed=job.seed,
            device="cuda" if job.limits.gpu_indices else "cpu",
            datasets=job.datasets,
            data_row_limit=job.data_row_limit,
            options=job.options,
            guard=job.guard,
            landlock=job.landlock,
        ).model_dump_json()

    def _plan(self, job: SandboxJob, report: DoctorReport, warm: bool = False) -> bwrap.BwrapPlan:
        """What bwrap builds for `job`. lm-eval's task dirs are mounted only where lm-eval
        may run: an lm-eval job, or a warm sandbox (it takes a job of either kind)."""

        def has(name: str) -> bool:
            feature = report.feature(name)
            return feature is not None and feature.ok

        runtime = runtime_layout(self.python)
        limits = job.limits
        return bwrap.BwrapPlan(
            bwrap=report.bwrap_path or "bwrap",
            python=runtime.python,
            runtime_prefixes=runtime.prefixes,
            venv_prefix=runtime.venv_prefix,
            harness_dir=HARNESS_DIR,
            out_bytes=limits.max_result_bytes + max(limits.max_result_bytes, MIB),
            model_dir=job.model_path.resolve() if job.model_path else None,
            data_mounts=tuple((m.source.resolve(), m.target, m.writable) for m in job.mounts),
            task_dirs=self._task_dirs() if warm or job.kind == "lm_eval" else (),
            gpu_indices=limits.gpu_indices,
            disk_bytes=limits.disk_mb * MIB,
            cpus=limits.cpus,
            supports_size=has("tmpfs_size"),
            supports_disable_userns=has("disable_userns"),
            setpriv=setpriv_path(report),
        )

    def _open_fds(
        self, job: SandboxJob, plan: bwrap.BwrapPlan, report: DoctorReport, warm: bool = False
    ) -> _Launch:
        """Every fd bwrap reads (data files, seccomp, info, block, its own options).

        `warm`: a sandbox for the pool, with no job files at all (its job comes on stdin).
        """
        fds: list[int] = []
        try:
            host_etc = etc_files.snapshot(bwrap.ETC_FILES)
            etc_data: dict[str, str | bytes] = {**host_etc, **ETC_DATA}
            etc = {dest: _data_fd(data) for dest, data in etc_data.items()}
            fds += etc.values()
            files = {} if warm else {
                "spec.json": _data_fd(self._spec(job, tasks=bool(plan.task_dirs))),
                "script.py": _data_fd(job.script or ""),
            }
            for name, text in job.job_files.items():
                if name in files or Path(name).name != name:
                    raise ValueError(f"job file name {name!r} is reserved or not a plain name")
                files[name] = _data_fd(text)
            fds += files.values()
            seccomp_fd = None
            seccomp = report.feature("seccomp")
            if seccomp is not None and seccomp.ok:
                seccomp_fd = seccomp_memfd()
                fds.append(seccomp_fd)
            info_read, info_write = os.pipe2(os.O_CLOEXEC)
            fds.append(info_write)
            block_read, block_write = os.pipe2(os.O_CLOEXEC)
            fds.append(block_read)
            plan = replace(
                plan,
                seccomp_fd=seccomp_fd,
                info_fd=info_write,
                block_fd=block_read,
                etc_data_fds=etc,
                job_files=files,
            )
            args_fd = os.memfd_create("evalpod-args", os.MFD_CLOEXEC)
            fds.append(args_fd)
            command = None
            if warm:
                model = ["/model"] if job.model_path else []
                command = [plan.python, "-I", f"{bwrap.HARNESS_DIR}/run.py", WARM_FLAG, *model]
            argv, options = bwrap.build_argv_via_fd(plan, args_fd, command)
            os.write(args_fd, options)
            os.lseek(args_fd, 0, os.SEEK_SET)
        except BaseException:
            for fd in fds:
                os.close(fd)
            raise
        return _Launch(argv=argv, pass_fds=fds, info_read=info_read, block_write=block_write)

    @property
    def warm_pool(self) -> WarmPool | None:
        """The pool of warm sandboxes (`orchestrator.local.pool`); None when the settings
        turn it off. Made on first use, in the event loop that uses it."""
        if self._pool is None and pool_enabled(self.settings):
            self._pool = WarmPool(self, self.settings)
        return self._pool

    def status(self) -> dict[str, object]:
        """The warm pool's counts (`WarmPool.status`), once this backend has a pool."""
        return {} if self._pool is None else {"warm_pool": self._pool.status().model_dump()}

    async def aclose(self) -> None:
        """Destroy every warm sandbox (a later job starts cold or warms the pool again)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def launch(self, job: SandboxJob) -> SandboxProcess:
        """Start `job`: in a warm sandbox from the pool when one fits it, else cold."""
        pool = self.warm_pool
        if pool is not None:
            process = await pool.take(job)
            if process is not None:
                return process
        return await self.start(job)

    async def assign(self, process: LocalProcess, job: SandboxJob) -> None:
        """Hand `job` to the warm sandbox `process` (its limits, spec, script and rlimits).
        Raises OSError/ConnectionError when the sandbox is gone (the caller cleans up)."""
        tasks = bool(self._task_dirs())
        spec = json.loads(self._spec(job, tasks=tasks, inline=True))
        rlimits = {RLIMIT_NAMES[kind]: pair for kind, pair in _rlimits(job.limits).items()}
        message = json.dumps({"spec": spec, "rlimits": rlimits}) + "\n"
        await process.assign(job, message.encode())

    async def start(self, job: SandboxJob, *, warm: bool = False) -> LocalProcess:
        """Start `job` cold (or, `warm`, a sandbox that waits for a job on stdin).
        Raises `SandboxUnavailable`."""
        report = self._host_ok
        if report is None:
            report = await asyncio.to_thread(self._check_host)
            self._host_ok = report if report.ok else None
        plan = self._plan(job, report, warm)
        cgroup: JobCgroup | None = None
        launch: _Launch | None = None
        try:
            layout = detect_layout()
            if layout.usable:
                cgroup = JobCgroup.create(layout, f"job-{job.job_id}", job.limits)
                if warm:
                    cgroup.set_cpu_weight(WARM_CPU_WEIGHT)
            else:
                log.warning("cgroups unusable: job %s runs without memory/pids limits", job.job_id)
            launch = self._open_fds(job, plan, report, warm)
            spawned = time.monotonic()
            proc = await spawn(_spawn_request(launch, warm, cgroup, layout))
        except BaseException:
            if launch is not None:
                os.close(launch.info_read)
                os.close(launch.block_write)
            if cgroup is not None:
                cgroup.kill_all()
                cgroup.remove()
            raise
        finally:
            for fd in launch.pass_fds if launch else []:
                os.close(fd)
        child_pid = await _read_child_pid(launch.info_read, spawned)
        process = LocalProcess(job, proc, cgroup, child_pid, launch.block_write)
        pids = [proc.pid] if child_pid is None else [proc.pid, child_pid]
        try:
            _confine(pids, None if proc.born_inside else cgroup, job.limits)
        except ProcessLookupError:
            pass  # bwrap failed on its own (its child dies with it): its exit says why
        except OSError as exc:
            # Not confined: SIGKILL both before the cleanup releases the block fd.
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            await process.cleanup()
            raise SandboxUnavailable(f"could not confine the sandbox: {exc}") from exc
        if not await process.attach(since=spawned):
            await process.cleanup()
            raise SandboxUnavailable(f"the sandbox did not come up within {ATTACH_TIMEOUT_S:g} s")
        return process


def _spawn_request(
    launch: _Launch, warm: bool, cgroup: JobCgroup | None, layout: CgroupLayout
) -> SpawnRequest:
    """bwrap born in the job's cgroups where the thread can step in and back out (v1),
    else started outside and moved by `_confine`."""
    enter = cgroup.thread_files if cgroup is not None else None
    leave = current_thread_files(layout) if enter is not None else None
    if enter is None or leave is None:
        return SpawnRequest(launch.argv, launch.pass_fds, warm)
    return SpawnRequest(launch.argv, launch.pass_fds, warm, enter, leave)


@lru_cache(maxsize=1)
def _sweep_once() -> None:
    layout = detect_layout()
    if layout.usable and (count := sweep_empty_job_cgroups(layout)):
        log.info("removed %d job cgroups left by an earlier run", count)


def _open_sandbox_mounts(
    child_pid: int, exports: dict[str, Path] | None = None
) -> _SandboxMounts | None:
    """fds of the sandbox's writable mounts, or None while bwrap is still building its root.

    Until bwrap chroots, the child's root is the host's (same inode as ours) or bwrap's
    scratch tmpfs (which has no `out`), so neither can be mistaken for the sandbox. Each
    mount must be a filesystem of its own, not a directory of the sandbox's root.
    """
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        root = os.open(f"/proc/{child_pid}/root", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None
    fds: list[int] = []
    try:
        mine, theirs = os.stat("/"), os.fstat(root)
        if (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino):
            return None
        exports = exports or {}
        for name in (*bwrap.SCRATCH_MOUNTS, *exports, bwrap.OUT_DIR):
            fds.append(os.open(name.lstrip("/"), flags, dir_fd=root))
            if os.fstat(fds[-1]).st_dev == theirs.st_dev:
                raise OSError(f"{name} is not a mount of its own")
        export_fds = dict(zip(exports.values(), fds[len(bwrap.SCRATCH_MOUNTS) : -1], strict=True))
        return _SandboxMounts(scratch=tuple(fds[:-1]), out=fds[-1], exports=export_fds)
    except OSError:
        for fd in fds:
            os.close(fd)
        return None
    finally:
        os.close(root)


async def _pause(since: float) -> None:
    """Wait before polling bwrap again: FINE_POLL_S for FINE_POLL_FOR_S after `since` (a
    sleep on the loop's thread, then a yield to the loop), ATTACH_POLL_S afterwards."""
    if time.monotonic() - since < FINE_POLL_FOR_S:
        time.sleep(FINE_POLL_S)
        await asyncio.sleep(0)
    else:
        await asyncio.sleep(ATTACH_POLL_S)


async def _read_child_pid(fd: int, since: float) -> int | None:
    """bwrap's --info-fd JSON: the pid of the sandbox's pid 1 (None if bwrap died first).
    Closes `fd`.

    bwrap writes the object in several writes and the sandbox may keep the pipe open,
    so read until the object parses rather than to EOF; closing early would SIGPIPE bwrap.
    The sandbox waits until bwrap's last write, so the pipe is polled, not watched: a
    reader woken by every write took the CPU from bwrap between its writes (on a busy
    2-core host, about 0.2 ms each, 8 writes). Read on the event loop, not in a worker
    thread: a hop to a thread and back costs a free worker and the GIL twice per launch,
    milliseconds on a loaded host.
    """
    data = b""
    try:
        os.set_blocking(fd, False)
        while True:
            try:
                chunk = os.read(fd, 4096)
            except BlockingIOError:
                await _pause(since)
                continue
            if not chunk:
                return None
            data += chunk
            with contextlib.suppress(ValueError):
                return int(json.loads(data)["child-pid"])
    except (OSError, KeyError):
        return None
    finally:
        os.close(fd)
