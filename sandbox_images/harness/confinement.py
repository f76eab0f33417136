"""What a guarded job's process may open once its code runs, enforced with Landlock.

Read: the Python runtime (prefixes and sys.path), the harness, the model, datasets and
lm-eval task directories, the dynamic loader's and name-service files of /etc, the
process's own /proc entries and the CPU topology in /sys. Read and write: the scratch
mounts (/tmp, /work, /dev/shm). Devices: /dev/null and friends, the GPU nodes. Nothing
else: /job (the spec) is unreadable and /out unwritable by path; the harness writes its
result and the guard its record through fds opened before (`open_result`,
run.py's `_guard_arming`).
"""

from __future__ import annotations

import glob
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import landlock

GUARDED_KINDS = ("script", "lm_eval")
MODES = ("auto", "required", "off")
# /opt/evalpod: the harness, a venv runtime and lm-eval task directories (local sandbox).
RUNTIME_READ = ("/usr", "/lib", "/lib64", "/opt/evalpod")
ETC_READ = (
    "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
    "/etc/passwd", "/etc/group", "/etc/hosts", "/etc/nsswitch.conf",
)  # fmt: skip
# /proc/self is resolved when the rule is added: the rule is on /proc/<pid>, which holds
# every thread's entries (/proc/thread-self points beneath it).
# Listed, not read: the pids of the job's own pid namespace (psutil iterates them).
LIST_ONLY = ("/proc",)
PROC_READ = ("/proc/self", "/proc/cpuinfo", "/proc/meminfo", "/proc/stat")
SYS_READ_CPU = ("/sys/devices/system/cpu", "/sys/devices/system/node", "/sys/fs/cgroup")
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")


class LandlockRequired(RuntimeError):
    """The job requires Landlock and the kernel has none."""


def mode(spec: dict[str, Any]) -> str:
    """The spec's Landlock mode for this job: "off" for kinds that run no submitted code."""
    if spec.get("kind", "script") not in GUARDED_KINDS:
        return "off"
    value = str(spec.get("landlock", "auto"))
    return value if value in MODES else "auto"


def open_result(spec: dict[str, Any], result_path: str) -> int | None:
    """The result file opened for writing now, before Landlock removes /out by path
    (None when Landlock is off: the harness then writes it by path, atomically). The
    file is created empty; the host reads an empty result file as no result."""
    if mode(spec) == "off":
        return None
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW
    return os.open(result_path, flags, 0o644)


def runtime_paths() -> list[str]:
    """The installed runtime: read, and executed (a guard-off job may still exec it)."""
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    on_path = [p for p in sys.path if p and os.path.isabs(p)]
    return [*RUNTIME_READ, *sorted(prefixes), *on_path]


def read_paths(spec: dict[str, Any], harness_dir: Path, data_dir: str) -> list[str]:
    """The trees the job may read besides the runtime (paths that do not exist are
    skipped later)."""
    model = spec.get("model_path")
    datasets = [os.path.dirname(str(p)) for p in (spec.get("datasets") or {}).values()]
    include = spec.get("task_include_path")
    tasks = [include] if isinstance(include, str) else list(include or [])
    gpu = str(spec.get("device", "cpu")) != "cpu"
    system = ["/sys", "/proc/driver/nvidia"] if gpu else list(SYS_READ_CPU)
    return [
        str(harness_dir),
        *([str(model)] if model else []),
        data_dir,
        *datasets,
        *tasks,
        *ETC_READ,
        *PROC_READ,
        *system,
    ]


def write_paths(scratch_dirs: Sequence[str]) -> list[str]:
    """The scratch mounts, the temp dir and the working directory (as the guard's
    scratch roots; /work in both sandboxes), never the whole filesystem."""
    cwd = os.getcwd()
    return sorted({*scratch_dirs, *temp_dirs(), *([cwd] if cwd != "/" else [])})


def temp_dirs() -> list[str]:
    """`tempfile.gettempdir()` as a list: empty where no directory is writable (a harness
    run under a read-only root, as bench/sandbox.py's minimal bwrap does), which
    gettempdir reports by raising FileNotFoundError."""
    try:
        return [tempfile.gettempdir()]
    except FileNotFoundError:
        return []


def device_paths() -> list[str]:
    return [*DEVICES, *sorted(glob.glob("/dev/nvidia*"))]


def confiner(
    spec: dict[str, Any], harness_dir: Path, data_dir: str, scratch_dirs: Sequence[str]
) -> Callable[[], None]:
    """A function that enforces the job's Landlock rules (once) and logs the outcome.

    Raises `LandlockRequired` (mode "required" on a kernel without Landlock) and
    OSError (a Landlock call failed) when called.
    """
    wanted = mode(spec)
    done: list[bool] = []

    def confine() -> None:
        if done or wanted == "off":
            return
        done.append(True)
        rules = landlock.rules_for(
            read_paths(spec, harness_dir, data_dir),
            write_paths(scratch_dirs),
            device_paths(),
            runtime_paths(),
        ) + [(path, landlock.READ_DIR) for path in LIST_ONLY]
        try:
            applied = landlock.enforce(rules)
        except landlock.LandlockUnavailable as exc:
            if wanted == "required":
                raise LandlockRequired(f"{exc.strerror}; this job requires it") from exc
            _log(
                f"Landlock unavailable on this kernel ({exc.strerror}): file access is "
                "not kernel-restricted, the runtime guard alone watches it"
            )
            return
        _log(applied.describe())

    return confine


def _log(message: str) -> None:
    print(f"[evalpod] {message}", file=sys.stderr, flush=True)
