"""Pure builder of the bubblewrap command line that isolates one job."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

SANDBOX_UID = 65534
SANDBOX_GID = 65534
HARNESS_DIR = "/opt/evalpod/harness"
TASKS_DIR = "/opt/evalpod/tasks"
WORK_DIR = "/work"
JOB_DIR = "/job"
OUT_DIR = "/out"
# A runtime that is a venv is bound here, so no host path (the checkout, EVALPOD_HOME)
# shows in the job's argv, sys.prefix or sys.executable.
RUNTIME_DIR = "/opt/evalpod/runtime"
# Writable mounts inside the sandbox, each a tmpfs of `disk_bytes` (summed as disk usage).
SCRATCH_MOUNTS: tuple[str, ...] = (WORK_DIR, "/tmp", "/dev/shm")
RUNTIME_BINDS: tuple[str, ...] = ("/usr",)
LIB_SYMLINKS: tuple[tuple[str, str], ...] = (
    ("usr/lib", "/lib"),
    ("usr/lib64", "/lib64"),
    ("usr/bin", "/bin"),
    ("usr/sbin", "/sbin"),
)
# Only what the dynamic loader and Python's locale/time code read; nothing secret. Copied
# in as files (`etc_files.snapshot`), a directory as its regular files, not bound.
ETC_FILES: tuple[str, ...] = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
)
NVIDIA_SHARED_DEVICES: tuple[str, ...] = (
    "/dev/nvidiactl",
    "/dev/nvidia-uvm",
    "/dev/nvidia-uvm-tools",
)
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True)
class BwrapPlan:
    """Everything the argv depends on; fds must be inherited by the bwrap process."""

    bwrap: str
    python: str
    runtime_prefixes: tuple[str, ...]
    harness_dir: Path
    job_files: dict[str, int] = field(default_factory=dict)  # name under /job -> data fd
    out_bytes: int = 2 * 1024 * 1024  # /out only ever holds the result file
    venv_prefix: str | None = None  # host path bound at RUNTIME_DIR; `python` is inside it
    model_dir: Path | None = None
    # (host source, sandbox target, writable): dataset versions, uploads, check output.
    data_mounts: tuple[tuple[Path, str, bool], ...] = ()
    task_dirs: tuple[Path, ...] = ()
    gpu_indices: tuple[int, ...] = ()
    disk_bytes: int = 512 * 1024 * 1024
    cpus: float = 1.0
    seccomp_fd: int | None = None
    info_fd: int | None = None
    block_fd: int | None = None  # bwrap waits on it before exec: the host attaches first
    etc_data_fds: dict[str, int] = field(default_factory=dict)  # path under /etc -> data fd
    extra_env: dict[str, str] = field(default_factory=dict)
    supports_size: bool = True
    supports_disable_userns: bool = True
    setpriv: str | None = None  # set: bwrap runs as root and the job as host uid 65534


def sandbox_env(plan: BwrapPlan) -> dict[str, str]:
    """The whole environment of the job: an allowlist, never the host's."""
    threads = str(max(1, int(plan.cpus)))
    env = {
        "HOME": WORK_DIR,
        "PATH": DEFAULT_PATH,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TMPDIR": "/tmp",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HOME": f"{WORK_DIR}/.cache/huggingface",
        "XDG_CACHE_HOME": f"{WORK_DIR}/.cache",
        "CUDA_VISIBLE_DEVICES": ",".join(str(i) for i in range(len(plan.gpu_indices))),
    }
    env.update(plan.extra_env)
    return env


def _namespace_args(plan: BwrapPlan) -> list[str]:
    common = ["--die-with-parent", "--new-session", "--hostname", "sandbox"]
    if plan.setpriv is not None:
        # No user namespace: bwrap mounts as real root, then setpriv (inside, under the
        # seccomp filter) becomes host uid 65534 with no capabilities and an empty
        # bounding set. Only the three caps setpriv needs survive bwrap's drop.
        unshare = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
        caps = ["--cap-drop", "ALL"]
        for cap in ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP"):
            caps += ["--cap-add", cap]
        return [*unshare, "--unshare-cgroup-try", *common, *caps]
    # User-namespace mode: the job is uid 65534 inside, but the service's uid outside.
    args = ["--unshare-all", "--unshare-user", *common]
    if plan.supports_disable_userns:
        args.append("--disable-userns")
    return [*args, "--cap-drop", "ALL", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_GID)]


def _drop_to_sandbox_uid(plan: BwrapPlan) -> list[str]:
    if plan.setpriv is None:
        return []
    ids = [f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_GID}", "--clear-groups"]
    return [plan.setpriv, *ids, "--inh-caps=-all", "--bounding-set=-all", "--"]


def _under(path: str, roots: Sequence[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def _prefix_args(prefixes: Sequence[str], bound: Sequence[str] = RUNTIME_BINDS) -> list[str]:
    """Bind each interpreter prefix at its own path, with traversable parents.

    bwrap would create missing parents (e.g. /root for a pyenv under /root) copying
    restrictive modes; uid 65534 must be able to walk down to the interpreter.
    """
    # The same few prefixes on every launch: worked out once (pathlib, on the launch's path).
    return list(_prefix_args_of(tuple(prefixes), tuple(bound)))


@lru_cache(maxsize=32)
def _prefix_args_of(prefixes: tuple[str, ...], bound_before: tuple[str, ...]) -> tuple[str, ...]:
    bound = list(bound_before)
    args: list[str] = []
    created: set[str] = set()
    for prefix in sorted(prefixes, key=len):
        if _under(prefix, bound):
            continue
        for parent in reversed(Path(prefix).parents[:-1]):
            name = str(parent)
            if name not in created and not _under(name, bound):
                args += ["--perms", "0755", "--dir", name]
                created.add(name)
        args += ["--ro-bind", prefix, prefix]
        bound.append(prefix)
    return tuple(args)


def _runtime_args(plan: BwrapPlan) -> list[str]:
    args: list[str] = []
    for path in RUNTIME_BINDS:
        args += ["--ro-bind", path, path]
    for target, link in LIB_SYMLINKS:
        args += ["--symlink", target, link]
    args += _prefix_args([p for p in plan.runtime_prefixes if not _under(p, SCRATCH_MOUNTS)])
    # Parents bwrap would otherwise create 0700 in privileged mode (unreadable to 65534).
    for path in ("/etc", "/opt", "/opt/evalpod"):
        args += ["--perms", "0755", "--dir", path]
    # Files, not binds: a bind is a mount the privileged half of bwrap makes (and then
    # reads the whole mount table for), a file is a copy into the root tmpfs.
    made = {"/etc"}
    for dest, fd in sorted(plan.etc_data_fds.items()):
        parent = str(Path(dest).parent)
        if parent not in made:
            args += ["--perms", "0755", "--dir", parent]
            made.add(parent)
        args += _data_file_args(fd, dest)
    return args


def _data_file_args(fd: int, dest: str) -> list[str]:
    # Copied into the root tmpfs, read-only once `/` is remounted (the last option, before
    # any job code runs): two mount calls fewer per file than --ro-bind-data.
    return ["--perms", "0444", "--file", str(fd), dest]


def _device_args(plan: BwrapPlan) -> list[str]:
    args = ["--dev", "/dev"]
    if plan.gpu_indices:
        nodes = [f"/dev/nvidia{i}" for i in plan.gpu_indices] + list(NVIDIA_SHARED_DEVICES)
        for node in nodes:
            args += ["--dev-bind-try", node, node]
    # /dev is an unsized tmpfs: give shm its own capped one and freeze the rest.
    return [*args, *_sized_tmpfs(plan, "/dev/shm"), "--remount-ro", "/dev"]


def _sized_tmpfs(plan: BwrapPlan, dest: str, size_bytes: int | None = None) -> list[str]:
    size_bytes = plan.disk_bytes if size_bytes is None else size_bytes
    size = ["--size", str(size_bytes)] if plan.supports_size else []
    return ["--perms", "01777", *size, "--tmpfs", dest]


def _job_args(plan: BwrapPlan) -> list[str]:
    args = ["--ro-bind", str(plan.harness_dir), HARNESS_DIR]
    if plan.venv_prefix is not None:
        args += ["--ro-bind", plan.venv_prefix, RUNTIME_DIR]
    # The spec and script are copied in from fds and /out is a small tmpfs: nothing of
    # the job lives on the host disk, and no host path of it is named in the argv.
    args += ["--perms", "0755", "--dir", JOB_DIR]
    for name, fd in sorted(plan.job_files.items()):
        args += _data_file_args(fd, f"{JOB_DIR}/{name}")
    args += _sized_tmpfs(plan, OUT_DIR, plan.out_bytes)
    if plan.model_dir is not None:
        args += ["--ro-bind", str(plan.model_dir), "/model"]
    args += _data_mount_args(plan)
    if plan.task_dirs:
        args += ["--tmpfs", TASKS_DIR]
        for index, task_dir in enumerate(plan.task_dirs):
            args += ["--ro-bind", str(task_dir), f"{TASKS_DIR}/{index}"]
        args += ["--remount-ro", TASKS_DIR]
    args += ["--proc", "/proc", *_proc_cover_args()]
    args += _sized_tmpfs(plan, WORK_DIR) + _sized_tmpfs(plan, "/tmp")
    return args


def _data_mount_args(plan: BwrapPlan) -> list[str]:
    args: list[str] = []
    parents = sorted({str(Path(target).parent) for _, target, _ in plan.data_mounts} - {"/"})
    for parent in parents:  # made 0755: bwrap would create them 0700 in privileged mode
        args += ["--perms", "0755", "--dir", parent]
    for source, target, writable in plan.data_mounts:
        # A writable one is a capped tmpfs the host copies out after the job: a bind of
        # the host directory would let the job fill the host disk.
        args += _sized_tmpfs(plan, target) if writable else ["--ro-bind", str(source), target]
    return args


def _proc_cover_args() -> list[str]:
    # In user-namespace mode the job's processes carry host uid 0 (bwrap runs as the
    # service's root, mapped to 65534); sysctl permission checks only compare that uid,
    # so a writable /proc/sys would let them set kernel.core_pattern, and driver entries
    # elsewhere in /proc may check only that uid too. The whole procfs goes read-only: a
    # write open of any file in it (/proc/sys, /proc/sysrq-trigger included) fails with
    # EROFS, and the job can neither remount it (no capabilities, and seccomp kills
    # mount) nor reach another procfs. No cover binds under it: bwrap would take them
    # from the host's /proc (showing the host's network sysctls), and each is a mount.
    return ["--remount-ro", "/proc"]


def _scratch_prefix_args(plan: BwrapPlan) -> list[str]:
    """Prefixes under a scratch path (a venv in /tmp or /work) bound over its tmpfs.

    They must come after the scratch mounts, or the tmpfs would hide the interpreter.
    """
    under = [p for p in plan.runtime_prefixes if _under(p, SCRATCH_MOUNTS)]
    elsewhere = [p for p in plan.runtime_prefixes if p not in under]
    return _prefix_args(under, bound=(*RUNTIME_BINDS, *elsewhere))


def _fd_args(plan: BwrapPlan) -> list[str]:
    args: list[str] = []
    if plan.seccomp_fd is not None:
        args += ["--seccomp", str(plan.seccomp_fd)]
    if plan.info_fd is not None:
        args += ["--info-fd", str(plan.info_fd)]
    if plan.block_fd is not None:
        args += ["--block-fd", str(plan.block_fd)]
    return args


def build_options(plan: BwrapPlan) -> list[str]:
    """Every bwrap option (between the binary and `--`)."""
    options = [*_namespace_args(plan), "--clearenv"]
    for key, value in sandbox_env(plan).items():
        options += ["--setenv", key, value]
    options += _runtime_args(plan) + _device_args(plan) + _job_args(plan)
    options += _scratch_prefix_args(plan) + _fd_args(plan)
    # Last: bwrap's root is a writable, unsized tmpfs until remounted.
    return [*options, "--remount-ro", "/", "--chdir", WORK_DIR]


def build_command(plan: BwrapPlan, command: Sequence[str] | None = None) -> list[str]:
    """What runs inside: `python -I harness spec` (or `command`), after the uid drop."""
    inner = (
        list(command)
        if command is not None
        else [plan.python, "-I", f"{HARNESS_DIR}/run.py", f"{JOB_DIR}/spec.json"]
    )
    return [*_drop_to_sandbox_uid(plan), *inner]


def build_argv(plan: BwrapPlan, command: Sequence[str] | None = None) -> list[str]:
    """The full argv with every option inline (see `build_argv_via_fd` for launching)."""
    return [plan.bwrap, *build_options(plan), "--", *build_command(plan, command)]


def build_argv_via_fd(
    plan: BwrapPlan, fd: int, command: Sequence[str] | None = None
) -> tuple[list[str], bytes]:
    """(`bwrap --args FD -- COMMAND...`, the NUL-separated options to write to FD).

    bwrap's pid 1 inside the sandbox keeps its argv for the job to read in
    /proc/1/cmdline; read from an fd, the options (every bind source on the host) never
    appear there. bwrap only takes options from the fd: the command stays on the argv.
    """
    options = ("\0".join(build_options(plan)) + "\0").encode()
    return [plan.bwrap, "--args", str(fd), "--", *build_command(plan, command)], options
