"""The runtime guard: a PEP 578 audit hook that denies the script process, network,
foreign-file and code-loading operations once the harness has armed it.

The harness arms it after its own imports and the model load, just before the script's
module runs; an audit hook cannot be removed. A denial raises `PermissionError` where the
operation was attempted, and is also written at once, before the script gets control
back, as one JSON line to a record file the harness opened before arming (the host reads
it next to the result file), so a script that catches the exception cannot hide it.

What counts as the script: a frame whose code was not loaded from the runtime's own
files (the interpreter's prefixes, the harness, frozen stdlib modules). The script's
module, and any code generated at run time (dataclasses, templates, `Timer(stmt=...)`),
is untrusted. Operations the runtime itself performs lazily while the script runs (a
compile in `dataclasses`, a frame read in `logging`, a `.pyc` unmarshalled by an import)
are allowed when no untrusted frame is among the nearest `PROXIMITY` frames of the call,
so a script cannot reach them through a thin wrapper (`inspect.currentframe()`). A
thread other than the arming one is the script's: the bottom of its stack counts as a
script frame. Code may carry a runtime file name only if a genuine stdlib loader made it
(see `genuine_exec`): the file name alone is not trusted.

Not a boundary on its own (PEP 578 says as much): the sandbox (namespaces, seccomp,
cgroups) still holds if the guard is bypassed. The hook is written so that nothing the
script can reach changes its decisions: every helper and builtin it uses is bound in a
closure at arming time, its policy is immutable, and it never calls the script's objects
(paths must be `str`, `bytes`, an fd, or a stdlib path object).
"""

from __future__ import annotations

import _imp
import _io
import errno
import os
import stat
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import _bootstrap, _bootstrap_external
from typing import Any

RECORD_NAME = "violation.json"
# The record's first line, written by the harness when it creates the record, before any
# of the job runs. The host takes "no denial" only from a record that is exactly one such
# line: emptied, cut or added to (`FileIO.truncate` raises no audit event; `os.write`
# none), the record is a `policy` violation, never a success.
RECORD_HEADER = '{{"evalpod_guard_record": 1, "nonce": "{nonce}"}}\n'
# `signal.signal` after arming: an event only the guard's hook answers (see
# `_frameless_signal_handlers`).
SIGNAL_EVENT = "evalpod.signal"
# The record could not be written (its fd was closed or replaced): the process ends with
# this code and the host reports a `policy` violation without detail.
RECORD_LOST_EXIT = 86
PROXIMITY = 3
# Events whose runtime callers name, in their own code, the function they call (or, for
# an audited attribute, the attribute): `dataclasses` calls `exec(...)`, `logging` calls
# `sys._getframe(1)`, `inspect` reads `func.__code__`. A runtime frame whose code does not
# name it called a callable it was handed (`copy._reconstruct`'s `callable(*args)`, a data
# loader's `collate_fn(batch)`): a trampoline, so the call is the script's, however deep.
CALLED_BY_NAME = {
    "exec": ("exec", "eval"),
    "compile": ("compile", "eval", "exec"),
    "sys._getframe": ("_getframe",),
    "sys._current_frames": ("_current_frames",),
    "sys._current_exceptions": ("_current_exceptions",),
}
MAX_STACK = 512
MAX_SYMLINKS = 40

# Always denied, whoever asks: nothing legitimate in an evaluation needs them.
DENIED_EVENTS = frozenset({
    "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
    "os.startfile", "subprocess.Popen", "pty.spawn", "sys.addaudithook", "sys.settrace",
    "sys.setprofile", "gc.get_objects", "gc.get_referrers", "gc.get_referents",
    "marshal.load", "resource.setrlimit", "resource.prlimit", "sqlite3.load_extension",
    "sqlite3.enable_load_extension", "builtins.breakpoint", "os.mkfifo", "os.mknod",
    "sys.remote_exec", "_posixsubprocess.fork_exec",
})
# Syscalls that start another program. No audit event covers every path to them
# (`_posixsubprocess.fork_exec`, used by `multiprocessing.util.spawnv_passfds`, raises
# none), so once armed the process also gets a seccomp filter failing them with EPERM:
# whatever Python reaches, no new program ever runs.
EXEC_SYSCALLS = ("execve", "execveat")
# machine -> (AUDIT_ARCH_*, syscall numbers of EXEC_SYSCALLS), from the kernel's uapi headers.
EXEC_FILTER_ARCH: dict[str, tuple[int, tuple[int, ...]]] = {
    "x86_64": (0xC000003E, (59, 322)),
    "aarch64": (0xC00000B7, (221, 281)),
}
# Every event of these modules (network clients, native code, process spawning).
DENIED_PREFIXES = frozenset({
    "socket", "http", "urllib", "ftplib", "smtplib", "poplib", "imaplib", "nntplib",
    "telnetlib", "webbrowser", "syslog", "subprocess", "pty", "winreg", "_winapi", "msvcrt",
})
# Frequent and harmless: answered first (id() alone is most events of an lm-eval job).
PASSTHROUGH_EVENTS = frozenset({"builtins.id"})
# Allowed to the runtime (lazy work while the script runs), denied near the script.
NEAR_SCRIPT_EVENTS = frozenset({
    "sys._getframe", "sys._current_frames", "object.__getattr__", "code.__new__",
    "function.__new__", "exec", "sys._current_exceptions",
})
# Events whose first argument may be a file descriptor. One naming a descriptor the
# harness holds (the record, the result file) is denied, whoever asks: `open(3)` or
# `FileIO(4)` would give the script a writer, truncater or mmap of them, and nothing of
# the runtime uses them once the guard is armed.
FD_EVENTS = frozenset({
    "open", "mmap.__new__", "fcntl.fcntl", "fcntl.ioctl", "fcntl.flock", "fcntl.lockf",
    "os.truncate", "os.chmod", "os.chown", "os.utime", "os.listdir", "os.scandir",
    "os.listxattr", "os.getxattr", "os.setxattr", "os.removexattr", "os.chdir",
    "os.fwalk", "os.chflags", "socket.__new__", "os.fdopen", "os.dup", "os.dup2",
    "os.write", "os.ftruncate", "os.lseek",
    *("os." + name for name in ("pwrite", "writev", "pwritev", "close", "fsync", "fdatasync",
                                "sendfile", "copy_file_range", "splice", "posix_fallocate",
                                "set_inheritable", "lockf")),
})
# `os` functions taking descriptors that raise no audit event of their own (`os.pwrite`
# on the result's fd wrote a forged result the host took as the harness's): after
# arming they raise "os.<name>" with each descriptor they write to, replace or close
# (by argument position), so the hook denies them on the harness's descriptors.
# The event an audited wrapper raises with (name, args, kwargs, result list).
FD_CALL_EVENT = "evalpod.fd_call"
# Keyword names under which those functions take a descriptor.
FD_KEYWORDS = frozenset({"fd", "fd2", "src", "dst", "out_fd", "in_fd", "fd_in", "fd_out"})
UNAUDITED_FD_FUNCTIONS = {
    "write": (0,), "pwrite": (0,), "writev": (0,), "pwritev": (0,), "lseek": (0,),
    "close": (0,), "dup": (0,), "dup2": (0, 1), "fsync": (0,), "fdatasync": (0,),
    "sendfile": (0,), "copy_file_range": (1,), "splice": (1,), "posix_fallocate": (0,),
    "set_inheritable": (0,), "lockf": (0,),
}
PATH_READ_EVENTS = frozenset({"os.listdir", "os.scandir", "os.listxattr", "os.getxattr"})
PATH_WRITE_EVENTS = frozenset({
    "os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.utime", "os.setxattr",
    "os.removexattr", "os.truncate", "os.chflags", "os.lchflags",
})
# A module of these (or a submodule) is never imported for the first time after arming.
DENIED_MODULES = frozenset({
    "subprocess", "_posixsubprocess", "socket", "_socket", "ssl", "_ssl", "select",
    "selectors", "asyncio", "multiprocessing", "_multiprocessing", "concurrent.futures.process",
    "pty", "tty", "termios", "fcntl", "ctypes", "_ctypes", "cffi", "_cffi_backend", "mmap",
    "code", "codeop", "pdb", "bdb", "trace", "cProfile", "profile", "webbrowser", "http",
    "urllib.request", "ftplib", "smtplib", "poplib", "imaplib", "nntplib", "telnetlib",
    "xmlrpc", "socketserver", "requests", "urllib3", "httpx", "aiohttp", "paramiko",
    "pexpect", "sh", "plumbum", "resource", "pickletools", "runpy", "zipimport",
})
# (module, name) pairs unpickling may resolve: plain data, tensors and arrays.
PICKLE_ALLOWED = frozenset({
    *(("builtins", name) for name in (
        "dict", "list", "set", "frozenset", "tuple", "str", "bytes", "bytearray", "int",
        "float", "complex", "bool", "slice", "range")),
    ("collections", "OrderedDict"), ("collections", "defaultdict"), ("collections", "deque"),
    ("collections", "Counter"), ("datetime", "date"), ("datetime", "datetime"),
    ("datetime", "timedelta"), ("datetime", "timezone"), ("decimal", "Decimal"),
    ("fractions", "Fraction"), ("numpy", "dtype"), ("numpy", "ndarray"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
    ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_parameter"),
    ("torch", "FloatStorage"), ("torch", "LongStorage"), ("torch", "HalfStorage"),
    ("torch", "BFloat16Storage"), ("torch", "IntStorage"), ("torch", "BoolStorage"),
    ("torch", "Size"), ("torch", "float32"), ("torch", "float16"), ("torch", "bfloat16"),
    ("torch", "int64"),
})
# Frozen importlib: the only caller that may compile code under a runtime file name and
# unmarshal bytecode (a lazy import of a runtime module).
IMPORTLIB_FILES = (
    "'<frozen importlib._bootstrap>'", "'<frozen importlib._bootstrap_external>'",
    "'<frozen zipimport>'",
)
SAFE_EVENT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/")
# What a record's `target` (the path, module or pid asked for) may hold; at most this long.
SAFE_TARGET_CHARS = SAFE_EVENT_CHARS | frozenset("-+=:@,~ ")
MAX_TARGET_CHARS = 120
MAX_RECORDED = 16
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
DEVICE_FILES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random", "/dev/full")
# Facts about the job's own process and the machine that libraries read at import time
# (torch: maps, mountinfo, boot_id); `{pid}` is the harness's pid.
PROCESS_FILES = (
    "/proc/{pid}/maps", "/proc/{pid}/mountinfo", "/proc/{pid}/status", "/proc/{pid}/stat",
    "/proc/{pid}/statm", "/proc/{pid}/cgroup", "/proc/cpuinfo", "/proc/meminfo",
    "/proc/sys/kernel/random/boot_id", "/proc/sys/kernel/random/uuid",
)


@dataclass(frozen=True)
class GuardPolicy:
    """Where the script may read and write, and whose code is the runtime's.

    Every path is absolute and already resolved (no symlinks).
    """

    runtime_roots: tuple[str, ...]
    read_roots: tuple[str, ...]
    write_roots: tuple[str, ...]
    import_roots: tuple[str, ...]
    harness_write_roots: tuple[str, ...] = ()
    script_filename: str = "evaluation.py"
    denied_modules: frozenset[str] = DENIED_MODULES
    # Where the denied modules' code lives (sources, bytecode, package dirs): an import
    # that raises no `import` event (importlib.import_module) still has to read them.
    denied_module_paths: tuple[str, ...] = ()
    pickle_allowed: frozenset[tuple[str, str]] = PICKLE_ALLOWED
    device_files: tuple[str, ...] = DEVICE_FILES


@dataclass
class GuardHandle:
    """What `arm` gives back to the harness (and to nobody else)."""

    denials: list[dict[str, Any]] = field(default_factory=list)
    armed: bool = False
    record_fd: int = -1
    record_id: tuple[int, int] = (0, 0)  # (st_dev, st_ino) of the record at arming
    # The record's size as the guard left it (the harness's header and the guard's lines):
    # any other size at the end means the script wrote to or cut the record.
    record_size: list[int] = field(default_factory=lambda: [0])


def record_header() -> bytes:
    """The record's first line, with a fresh random nonce (32 hex digits)."""
    return RECORD_HEADER.format(nonce=os.urandom(16).hex()).encode("ascii")


def _resolved_roots(paths: Iterable[str | os.PathLike[str] | None]) -> tuple[str, ...]:
    roots: dict[str, None] = {}
    for path in paths:
        if path:
            roots[os.path.realpath(os.fspath(path))] = None
    return tuple(roots)


def runtime_roots(harness_dir: str | os.PathLike[str]) -> tuple[str, ...]:
    """The interpreter's prefixes and the harness: code from here is the runtime's."""
    return _resolved_roots([
        sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
        *(p for p in sys.path if p and ("site-packages" in p or "dist-packages" in p)),
        harness_dir,
    ])


def module_paths(names: Iterable[str]) -> tuple[str, ...]:
    """The files and package directories the modules `names` would be loaded from."""
    import importlib.util

    found: dict[str, None] = {}
    for name in sorted(names):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None:
            continue
        for location in spec.submodule_search_locations or ():
            found[os.path.realpath(location)] = None
        origin = spec.origin
        if spec.submodule_search_locations is None and origin and os.path.isabs(origin):
            found[os.path.realpath(origin)] = None
            if origin.endswith(".py"):
                found[os.path.realpath(importlib.util.cache_from_source(origin))] = None
    return tuple(found)


def build_policy(
    *,
    harness_dir: str | os.PathLike[str],
    model_dir: str | None,
    data_dir: str | None,
    task_dirs: Iterable[str],
    out_dir: str,
    script_filename: str,
    scratch_dirs: Iterable[str],
) -> GuardPolicy:
    """The policy of one job: read the runtime, model, data, tasks and scratch dirs;
    write only the scratch dirs (and `out_dir`, for the harness alone)."""
    runtime = runtime_roots(harness_dir)
    tasks = _resolved_roots(task_dirs)
    scratch = _resolved_roots(scratch_dirs)
    return GuardPolicy(
        runtime_roots=runtime,
        read_roots=_resolved_roots([*runtime, model_dir, data_dir, *tasks, *scratch]),
        write_roots=scratch,
        import_roots=_resolved_roots([*runtime, *tasks]),
        harness_write_roots=_resolved_roots([out_dir]),
        script_filename=script_filename,
        denied_module_paths=module_paths(DENIED_MODULES),
    )


def arm(policy: GuardPolicy, record_fd: int, *, enforce: bool = True,
        protected_fds: Iterable[int] = ()) -> GuardHandle:
    """Install the audit hook for the rest of the process's life.

    `record_fd`: an fd open for writing (append) on the record file; each denial is one
    JSON line `{"event", "detail", "line"}` there. `protected_fds`: the harness's other
    descriptors (the result file); no audited event may name them or `record_fd` (see
    `FD_EVENTS`). `enforce=False` records without raising (to survey what a workload
    would need). Raises nothing itself; a denied operation raises
    `PermissionError("evalpod runtime guard: <event> denied")`.
    """
    info = os.fstat(record_fd)
    handle = GuardHandle(record_fd=record_fd, record_id=(info.st_dev, info.st_ino),
                         record_size=[info.st_size])
    protected = frozenset({record_fd, *protected_fds})
    hook = _make_hook(policy, record_fd, enforce, handle.denials, protected, handle.record_size)
    if enforce:
        block_exec()
        _audit_native_spawn()
        # One pass over every loaded module's namespace (about 8 ms with torch and
        # transformers loaded) for both sets of replacements.
        _replace_everywhere({**_frameless_signal_handlers(), **_audit_fd_functions()})
    sys.addaudithook(hook)
    handle.armed = True
    return handle


class ExecFilterUnavailable(RuntimeError):
    """The seccomp filter against starting programs could not be installed: the harness
    then refuses to run the script (fail closed)."""


def block_exec() -> None:
    """Install, for this process and all it forks, a seccomp filter failing `execve` and
    `execveat` with EPERM. A classic-BPF program loaded with prctl through ctypes (no
    libseccomp needed, so every runtime image can do it); x86_64 and aarch64.
    Raises `ExecFilterUnavailable` if it cannot."""
    import ctypes
    import platform

    machine = platform.machine()
    if machine not in EXEC_FILTER_ARCH:
        raise ExecFilterUnavailable(f"cannot block exec: no filter for {machine}")
    audit_arch, numbers = EXEC_FILTER_ARCH[machine]

    class SockFilter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte),
                    ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]

    ld_w_abs, jeq_k, ret_k, jge_k = 0x20, 0x15, 0x06, 0x35
    allow, deny = 0x7FFF0000, 0x00050000 | errno.EPERM  # SECCOMP_RET_ALLOW, _ERRNO
    kill = 0x80000000  # SECCOMP_RET_KILL_PROCESS: a foreign architecture
    program = [
        (ld_w_abs, 0, 0, 4),  # seccomp_data.arch
        (jeq_k, 1, 0, audit_arch),
        (ret_k, 0, 0, kill),
        (ld_w_abs, 0, 0, 0),  # seccomp_data.nr
        (jge_k, 2 + len(numbers), 0, 0x40000000),  # x32 numbers: deny as well
    ]
    for index, number in enumerate(numbers):
        program.append((jeq_k, len(numbers) - index, 0, number))
    program += [(ret_k, 0, 0, allow), (ret_k, 0, 0, deny)]
    # A jump over the allow lands on deny: jt offsets count from the next instruction.
    program[4] = (jge_k, len(numbers) + 1, 0, 0x40000000)
    filters = (SockFilter * len(program))(*(SockFilter(*op) for op in program))
    fprog = SockFprog(len(program), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_no_new_privs, pr_set_seccomp, seccomp_mode_filter = 38, 22, 2
    if libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) != 0 or libc.prctl(
            pr_set_seccomp, seccomp_mode_filter, ctypes.byref(fprog), 0, 0) != 0:
        code = ctypes.get_errno()
        raise ExecFilterUnavailable(f"cannot block exec: prctl: {os.strerror(code)}")


def _audit_native_spawn() -> None:
    """Route `_posixsubprocess.fork_exec` (no audit event of its own) through one the hook
    denies, so an attempt is reported as a `policy` violation and not only failed by the
    exec filter."""
    try:
        import _posixsubprocess
    except ImportError:
        return
    audit = sys.audit

    def fork_exec(*args: Any) -> int:
        audit("_posixsubprocess.fork_exec", args[0] if args else None)
        raise PermissionError("evalpod runtime guard: _posixsubprocess.fork_exec denied")

    _posixsubprocess.fork_exec = fork_exec


def _audit_fd_functions() -> dict[int, Any]:
    """The replacements (by id of the original, for `_replace_everywhere`) routing the
    `os` functions of `UNAUDITED_FD_FUNCTIONS` and `closerange` through `FD_CALL_EVENT`,
    in every loaded module that holds them: the hook, which alone holds
    the originals (bound when it was made), checks their descriptors and makes the call.
    Nothing the script can reach holds an original. The harness bound what writes its
    record and result before arming."""
    audit, event = sys.audit, FD_CALL_EVENT

    def routed(name: str, original: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            box: list[Any] = []
            audit(event, name, args, kwargs, box)
            return box[0]

        call.__name__ = call.__qualname__ = name
        call.__doc__ = original.__doc__
        return call

    replacements: dict[int, Any] = {}
    for name in (*UNAUDITED_FD_FUNCTIONS, "closerange"):
        original = getattr(os, name, None)
        if original is not None:
            replacements[id(original)] = routed(name, original)
    return replacements


def _replace_everywhere(replacements: dict[int, Any]) -> None:
    """In every loaded module's namespace, replace each object whose id is a key of
    `replacements` by its value."""
    for module in list(sys.modules.values()):
        namespace = getattr(module, "__dict__", None)
        if type(namespace) is dict:
            for key, value in list(namespace.items()):
                replacement = replacements.get(id(value))
                if replacement is not None:
                    namespace[key] = replacement


def _frameless_signal_handlers() -> dict[int, Any]:
    """The replacement (for `_replace_everywhere`) of `_signal.signal`. A signal handler
    is called with the frame the signal interrupted, and no audit event covers it: from
    that frame `f_back` and `f_locals` reach every frame below, the harness's own
    included. After arming, `_signal.signal` (under `signal.signal`)
    raises `SIGNAL_EVENT`, and the hook, which alone holds the original, installs the
    handler wrapped so that it is called with `None` for the frame. Every reference to
    the original in a loaded module is replaced, so the script cannot reach it."""
    import _signal
    import signal as signal_module

    original, audit, event = _signal.signal, sys.audit, SIGNAL_EVENT

    def signal(signalnum: Any, handler: Any) -> Any:
        """`_signal.signal`, installed through the runtime guard (the handler gets no
        frame). Returns the previous handler."""
        previous: list[Any] = []
        audit(event, signalnum, handler, previous)
        return previous[0]

    # functools.wraps kept the original on `signal.signal`.
    signal_module.signal.__wrapped__ = signal  # type: ignore[attr-defined]
    return {id(original): signal}


def _make_hook(  # noqa: C901 - one closure on purpose: nothing in it is reachable by name
    policy: GuardPolicy, record_fd: int, enforce: bool, denials: list[dict[str, Any]],
    protected_fds: frozenset[int] = frozenset(),
    record_size: list[int] | None = None,
) -> Callable[[str, tuple[Any, ...]], None]:
    # Everything the hook uses is bound here: the script may rebind module attributes
    # and builtins later, and must not change what the hook decides.
    _getframe, _repr, _type, _len, _int = sys._getframe, repr, type, len, int
    _issubclass, _range, _str, _tuple = issubclass, range, str, tuple
    _str_add, _bytes_add, _decode = str.__add__, bytes.__add__, bytes.decode
    _lstat, _readlink, _getcwd, _islink = os.lstat, os.readlink, os.getcwd, stat.S_ISLNK
    _write, _fstat, _exit = os.write, os.fstat, os._exit
    _ident, _permission_error, _os_error = threading.get_ident, PermissionError, OSError
    denied_events, denied_prefixes = DENIED_EVENTS, DENIED_PREFIXES
    near_script_events, safe_chars = NEAR_SCRIPT_EVENTS, SAFE_EVENT_CHARS
    target_chars, max_target, max_recorded = SAFE_TARGET_CHARS, MAX_TARGET_CHARS, MAX_RECORDED
    read_events, write_events = PATH_READ_EVENTS, PATH_WRITE_EVENTS
    importlib_files, write_flags = IMPORTLIB_FILES, WRITE_FLAGS
    proximity, max_stack, max_symlinks = PROXIMITY, MAX_STACK, MAX_SYMLINKS
    called_by_name = dict(CALLED_BY_NAME)
    lost_exit = RECORD_LOST_EXIT
    fd_events, protected = FD_EVENTS, frozenset({record_fd, *protected_fds})
    written = [0] if record_size is None else record_size
    passthrough = PASSTHROUGH_EVENTS
    system_libs = ("/usr/lib", "/lib", "/usr/lib64", "/lib64", "/usr/local/lib")
    own_pid = os.getpid()
    read_files = (*policy.device_files, *(name.format(pid=own_pid) for name in PROCESS_FILES))
    record_stat = _fstat(record_fd)
    record_id = (record_stat.st_dev, record_stat.st_ino)
    trusted_prefixes = ("'<frozen ", *("'" + root + "/" for root in policy.runtime_roots))
    script_prefix = "'" + policy.script_filename + "'"
    own_prefix = _repr(_make_hook.__code__.co_filename)
    # The policy's values, copied: the hook never reads an object someone else holds.
    runtime_roots_, read_roots, write_roots = (
        policy.runtime_roots, policy.read_roots, policy.write_roots)
    import_roots, harness_write_roots = policy.import_roots, policy.harness_write_roots
    denied_modules, denied_module_paths = policy.denied_modules, policy.denied_module_paths
    pickle_allowed, device_files = policy.pickle_allowed, policy.device_files
    namedtuple_file, namedtuple_suffix = "/collections/__init__.py', line ", ", code namedtuple>"
    stdlib = "'" + os.path.dirname(os.__file__) + "/"
    # (stdlib file, function) pairs that read only `__name__` from a caller's frame.
    name_readers = (("typing.py', line ", ", code _caller>"),
                    ("enum.py', line ", ", code _create_>"))
    generator_events = frozenset({"compile", "exec", "sys._getframe"})
    import _signal

    _install_signal, _callable, _list = _signal.signal, callable, list
    _raise_signal = _signal.raise_signal
    signal_event = SIGNAL_EVENT
    fd_call_event, fd_keywords, _dict = FD_CALL_EVENT, FD_KEYWORDS, dict
    fd_functions = {name: (getattr(os, name), positions)
                    for name, positions in UNAUDITED_FD_FUNCTIONS.items() if hasattr(os, name)}
    _closerange = os.closerange
    busy: set[int] = set()
    # Signal handlers run only outside the hook: the interpreter runs a handler between
    # any two bytecodes, the hook's own included (even while `busy` marks the guard's own
    # look at the stack, where `sys._getframe` is answered as the guard's, or before a
    # denial is recorded); one due while the hook runs on its thread is held, and its
    # signal raised again as the hook returns.
    in_hook: set[int] = set()
    held: list[tuple[Any, int]] = []
    # Threads: only the arming thread's stack ends in the harness. Any other thread runs
    # on behalf of the script (the harness starts none), so the bottom of its stack
    # counts as a script frame and `threading`'s own trampoline frames do not count.
    arming_thread = _ident()
    threading_prefix = _repr(threading.__file__)[:-1] + "', line "
    _current_frames = sys._current_frames
    # Genuine imports: the only code that may carry a runtime file name is what the
    # stdlib's own file loaders read from the runtime's files. Their classes, importlib's
    # globals and `_io` are compared, by identity, with what they were at arming.
    external_file = "'<frozen importlib._bootstrap_external>', line "
    bootstrap_file = "'<frozen importlib._bootstrap>', line "
    code_type = type(_make_hook.__code__)
    # A thread's uncaught exception is printed by `_thread._excepthook` (C), which parses
    # the source lines it shows (an AST, never code) under their own file names.
    threading_globals, thread_excepthook = threading.__dict__, threading.excepthook
    loader_types = (_bootstrap_external.SourceFileLoader,
                    _bootstrap_external.SourcelessFileLoader)
    loader_fields = frozenset({"name", "path"})
    watched = tuple(
        (live, tuple(live.items())) for live in (
            _bootstrap_external.__dict__, _bootstrap.__dict__, _io.__dict__, _imp.__dict__,
            *(kind.__dict__ for loader in loader_types for kind in loader.__mro__
              if kind is not object)))
    _vars = vars
    record_path = os.path.realpath(f"/proc/self/fd/{record_fd:d}")

    def file_of(frame: Any) -> str:
        # repr(frame) names the code's file without the audited `f_code` read.
        text: str = _repr(frame)
        start = text.find(", file ")
        return text[start + 7 :] if start >= 0 else ""

    def trusted(frame: Any) -> bool:
        return file_of(frame).startswith(trusted_prefixes)

    def safe_code_generator(frame: Any) -> bool:
        """`collections.namedtuple` (and so `typing.NamedTuple`) evals a lambda built only
        from names it has checked are real `str` identifiers, in a namespace of its own,
        and reads `__name__` from its caller's frame without handing the frame out:
        nothing the script passes can become code, so its compile, exec and
        `sys._getframe` are allowed even right under the script."""
        where = file_of(frame)
        return (where.startswith(trusted_prefixes)
                and where.endswith(namedtuple_suffix) and namedtuple_file in where)

    def reads_caller_name(frame: Any) -> bool:
        """`typing._caller` (behind `TypeVar`, `ParamSpec`, `NewType`, functional
        `TypedDict`/`NamedTuple`, Protocol checks) and `enum`'s functional API
        (`Enum("Color", "RED GREEN")`) call `sys._getframe` only to read
        `f_globals["__name__"]` and return that string, never the frame: allowed right
        under the script, for those stdlib functions only."""
        where = file_of(frame)
        if not where.startswith(stdlib):
            return False
        rest = where[_len(stdlib):]
        for file_part, suffix in name_readers:
            if rest.startswith(file_part) and rest.endswith(suffix):
                return True
        return False

    def caller() -> Any:
        """The innermost frame outside this module: where the audited call was made."""
        me = _ident()
        busy.add(me)
        try:
            # Depth 0 (this frame, skipped below): a thread started on a C callable has
            # no frame under the hook's, and `_getframe(1)` would raise there.
            frame: Any = _getframe(0)
        finally:
            busy.discard(me)
        while frame is not None and file_of(frame).startswith(own_prefix):
            frame = frame.f_back
        return frame

    def near_script(frame: Any) -> bool:
        other_thread = _ident() != arming_thread
        seen = 0
        for _ in _range(max_stack):
            if frame is None:
                return other_thread  # a thread's entry: the script started it
            if not trusted(frame):
                return True
            if not (other_thread and file_of(frame).startswith(threading_prefix)):
                seen += 1
                if seen >= proximity:
                    return False
            frame = frame.f_back
        return False

    def code_of(frame: Any) -> Any:
        """`frame.f_code`, which is audited: marked as the guard's own look."""
        me = _ident()
        busy.add(me)
        try:
            return frame.f_code
        finally:
            busy.discard(me)

    def names_in_code(code: Any, name: str, constants: bool) -> bool:
        """`name` among the names the code uses (globals, attributes) or, for an attribute,
        among its string constants, loose or in a constant tuple (`getattr(f, "__doc__")`,
        `for a in ("__doc__", "__kwdefaults__"): getattr(f, a)`)."""
        if name in code.co_names:
            return True
        if not constants:
            return False
        for constant in code.co_consts:
            if _type(constant) is _str and constant == name:
                return True
            if _type(constant) is _tuple and name in constant:
                return True
        return False

    def handed_call(event: str, args: tuple[Any, ...], frame: Any) -> bool:
        """The runtime frame that made the call does not name what it called (see
        `CALLED_BY_NAME`) while the script is on the stack: it was a trampoline for a
        callable the script handed over, at any depth. Import machinery calls through
        `_call_with_frames_removed` by design and is judged by the import rules."""
        if frame is None or not trusted(frame) or importing(frame):
            return False
        if event == "object.__getattr__":
            name = as_text(args[1]) if _len(args) > 1 else None
            wanted: tuple[str, ...] = () if name is None else (name,)
        else:
            wanted = called_by_name.get(event, ())
        if not wanted:
            return False
        code = code_of(frame)
        attribute = event == "object.__getattr__"
        for name in wanted:
            if names_in_code(code, name, attribute):
                return False
        return script_on_stack(frame)

    def runtime_call(event: str, args: tuple[Any, ...], frame: Any) -> bool:
        """The runtime's own call: no script frame among the nearest `PROXIMITY`, and
        not made by a trampoline on the script's behalf."""
        return not near_script(frame) and not handed_call(event, args, frame)

    def script_on_stack(frame: Any) -> bool:
        if _ident() != arming_thread:
            return True
        for _ in _range(max_stack):
            if frame is None:
                return False
            if not trusted(frame):
                return True
            frame = frame.f_back
        return True

    def importing(frame: Any) -> bool:
        return file_of(frame).startswith(importlib_files)

    def script_line(frame: Any, other_threads: bool = True) -> int | None:
        for _ in _range(max_stack):
            if frame is None:
                break
            if file_of(frame).startswith(script_prefix):
                return _int(frame.f_lineno)
            frame = frame.f_back
        if other_threads and _ident() != arming_thread:
            # A thread the script started: the line the script's own thread is at
            # (usually where it joins the thread).
            me = _ident()
            busy.add(me)
            try:
                main = _current_frames().get(arming_thread)
            finally:
                busy.discard(me)
            return script_line(main, False)
        return None

    def importlib_intact() -> bool:
        for live, items in watched:
            if _len(live) != _len(items):
                return False
            for name, value in items:
                if live.get(name) is not value:
                    return False
        return True

    def genuine_import(frame: Any) -> bool:
        """The call comes, through importlib frames only, from the `get_code` of one of
        the stdlib's file loaders (exact type, no attribute of its own but `name` and
        `path`), and nothing importlib uses was replaced: the bytes compiled or
        unmarshalled are what `open` (checked) read from a file."""
        for _ in _range(max_stack):
            if frame is None or not importing(frame):
                return False
            where = file_of(frame)
            if where.startswith(external_file) and where.endswith(", code get_code>"):
                return genuine_loader(frame)
            frame = frame.f_back
        return False

    def genuine_loader(frame: Any) -> bool:
        loader = frame.f_locals.get("self")
        if _type(loader) not in loader_types:
            return False
        for name in _vars(loader):
            if name not in loader_fields:
                return False
        return importlib_intact()

    def genuine_exec(frame: Any) -> bool:
        """`exec` of a module's code by `exec_module` of a stdlib file loader (through
        `_call_with_frames_removed`) or of the frozen importer."""
        where = file_of(frame)
        if where.startswith(bootstrap_file) and where.endswith(", code exec_module>"):
            return importlib_intact()  # FrozenImporter: code from `_imp` only
        if not (where.startswith(bootstrap_file)
                and where.endswith(", code _call_with_frames_removed>")):
            return False
        frame = frame.f_back
        where = "" if frame is None else file_of(frame)
        if not (where.startswith(external_file) and where.endswith(", code exec_module>")):
            return False
        return genuine_loader(frame)

    def runtime_code(code: Any) -> bool:
        """Is `code` a code object the guard would take for the runtime's?"""
        if _type(code) is not code_type:
            return False
        filename = as_text(code.co_filename)
        return filename is not None and names_runtime(filename)

    def names_runtime(filename: str) -> bool:
        """Would code under this file name be taken for the runtime's?"""
        if filename.startswith("<frozen") or _repr(filename).startswith(trusted_prefixes):
            return True
        real = resolve(filename) if filename.startswith("/") else None
        return real is not None and under(real, runtime_roots_)

    def printable(text: str, allowed: frozenset[str]) -> str:
        kept = [char if char in allowed else "?" for char in text[:max_target]]
        return "".join(kept)

    def target_of(event: str, args: tuple[Any, ...]) -> str:
        if not args:
            return ""
        first = args[0]
        if event == "pickle.find_class" and _len(args) > 1:
            module, name = as_text(first), as_text(args[1])
            return "" if module is None or name is None else module + "." + name
        if _type(first) is _int:
            return f"{first:d}"
        return as_text(first) or ""

    def deny(event: str, frame: Any, args: tuple[Any, ...] = ()) -> None:
        name = event
        for char in event:
            if char not in safe_chars:
                name = "audit event"
                break
        line = script_line(frame)
        target = printable(target_of(event, args), target_chars)
        denials.append({"event": name, "detail": name + " denied", "line": line,
                        "target": target or None})
        if _len(denials) > max_recorded:
            if enforce:  # recorded enough: a loop of denials must not fill the host's disk
                raise _permission_error("evalpod runtime guard: " + name + " denied")
            return
        number = "null" if line is None else f"{line:d}"
        quoted = "null" if not target else f'"{target}"'
        record = (f'{{"event": "{name}", "detail": "{name} denied", "line": {number}, '
                  f'"target": {quoted}}}\n')
        where = "" if line is None else f" at script line {line:d}"
        what = f" ({target})" if target else ""
        try:
            now = _fstat(record_fd)
            if (now.st_dev, now.st_ino) != record_id:
                _exit(lost_exit)
            written[0] += _write(record_fd, record.encode())
            _write(2, f"[evalpod] runtime guard: {name}{what} denied{where}\n".encode())
        except _os_error:
            _exit(lost_exit)
        if enforce:
            raise _permission_error("evalpod runtime guard: " + name + " denied")

    def as_text(path: Any) -> str | None:
        """`path` as an exact str; None for anything else (never calls its methods)."""
        kind = _type(path)
        if kind is str:
            return path  # type: ignore[no-any-return]
        if _issubclass(kind, str):
            return _str_add("", path)
        if _issubclass(kind, bytes):
            raw = _bytes_add(b"", path)
            return _decode(raw, "utf-8", "surrogateescape")
        return None

    def resolve(path: str) -> str | None:
        """Absolute, symlink-free form of `path` (components not yet existing kept)."""
        if not path.startswith("/"):
            path = _getcwd() + "/" + path
        parts = [p for p in path.split("/") if p and p != "."]
        done: list[str] = []
        links = 0
        while parts:
            part = parts.pop(0)
            if part == "..":
                if done:
                    done.pop()
                continue
            candidate = "/" + "/".join([*done, part])
            try:
                info = _lstat(candidate)
            except _os_error:
                done.append(part)
                continue
            if _islink(info.st_mode):
                links += 1
                if links > max_symlinks:
                    return None
                target = _readlink(candidate)
                if target.startswith("/"):
                    done = []
                parts = [p for p in target.split("/") if p and p != "."] + parts
                continue
            done.append(part)
        return "/" + "/".join(done)

    def under(path: str, roots: tuple[str, ...]) -> bool:
        for root in roots:  # noqa: SIM110 - any() is a builtin the script could rebind
            if path == root or path.startswith(root + "/"):
                return True
        return False

    def real_path(path: Any) -> str | None:
        text = as_text(path)
        return None if text is None else resolve(text)

    def readable(path: Any) -> bool:
        if _type(path) is int:
            return True
        real = real_path(path)
        return real is not None and (under(real, read_roots) or real in read_files)

    def writable(path: Any, frame: Any) -> bool:
        real = real_path(path)
        if real is None:
            return False
        if real == record_path:
            return False  # the record is written through the harness's fd only
        if under(real, write_roots) or real in device_files:
            return True
        return under(real, harness_write_roots) and not script_on_stack(frame)

    def check_open(args: tuple[Any, ...]) -> bool:
        path, flags = args[0], args[2]
        if path is None or _type(path) is int:
            return True  # an fd already open: it was checked when it was opened
        frame = caller()
        if importing(frame):
            # Code is imported from the runtime and the task directories only, and a
            # denied module not for the script.
            real = real_path(path)
            if real is None or not under(real, import_roots):
                return False
            return not (under(real, denied_module_paths)
                        and near_script(importer(frame)))
        if _type(flags) is int and flags & write_flags:
            return writable(path, frame)
        return readable(path)

    def importer(frame: Any) -> Any:
        """The frame that asked for an import: the first one outside frozen importlib."""
        for _ in _range(max_stack):
            if frame is None or not importing(frame):
                return frame
            frame = frame.f_back
        return frame

    def check_import(args: tuple[Any, ...]) -> bool:
        module, filename = args[0], args[1]
        if _type(module) is not str:
            return False
        if filename is not None:
            real = real_path(filename)
            if real is None or not under(real, import_roots):
                return False
        # A denied module may still be imported by the runtime for itself (torch imports
        # ctypes); not by the script, directly or through a thin wrapper.
        top = module
        while True:
            if top in denied_modules:
                return not near_script(importer(caller()))
            dot = top.rfind(".")
            if dot < 0:
                return True
            top = top[:dot]

    def check_compile(args: tuple[Any, ...]) -> bool:
        frame = caller()
        filename = as_text(args[1]) if _len(args) > 1 else None
        if (file_of(frame).startswith(threading_prefix)
                and file_of(frame).endswith(", code invoke_excepthook>")
                and threading_globals.get("excepthook") is thread_excepthook):
            return True
        if not runtime_call("compile", args, frame):
            return False
        if filename is None:
            return True
        if importing(frame):
            real = resolve(filename) if filename.startswith("/") else None
            return real is not None and under(real, import_roots)
        # The runtime parsing or compiling its own text (ast.parse of a module, a
        # generated __init__) is allowed: the result runs with the script's rights
        # unless it names a runtime file, and only the runtime's own frames get here.
        return True

    def check_ctypes() -> bool:
        # Only while a runtime module is being imported (torch loading its libraries).
        frame = caller()
        if near_script(frame):
            return False
        for _ in _range(max_stack):
            if frame is None:
                return False
            if importing(frame):
                return True
            frame = frame.f_back
        return False

    def check_dlopen(args: tuple[Any, ...]) -> bool:
        if not check_ctypes():
            return False
        name = as_text(args[0]) if args else None
        if name is None or "/" not in name:
            return True  # the process itself, or a name the loader finds in system dirs
        real = resolve(name)
        return real is not None and (
            under(real, runtime_roots_) or under(real, system_libs))

    def allowed(event: str, args: tuple[Any, ...]) -> bool:  # noqa: C901
        if event in generator_events and safe_code_generator(caller()):
            return True
        if event == "sys._getframe" and reads_caller_name(caller()):
            return True
        if event == "open":
            return check_open(args)
        if event == "import":
            return check_import(args)
        if event == "compile":
            return check_compile(args)
        if event == "exec" and args and runtime_code(args[0]):
            # Code under a runtime file name runs as the runtime: only a genuine import.
            return genuine_exec(caller())
        if event == "code.__new__":  # also `code.replace`
            frame = caller()
            filename = as_text(args[1]) if _len(args) > 1 else None
            if near_script(frame):
                return False
            return filename is None or not names_runtime(filename) or not script_on_stack(frame)
        if event in near_script_events:
            return runtime_call(event, args, caller())
        if event == "object.__setattr__":
            name = as_text(args[1]) if _len(args) > 1 else ""
            return not (name == "__code__" and near_script(caller()))
        if event == "marshal.loads":
            frame = caller()
            return importing(frame) and not near_script(frame) and genuine_import(frame)
        if event == "ctypes.dlopen":
            return check_dlopen(args)
        if event.startswith("ctypes."):
            return check_ctypes()
        if event == "pickle.find_class":
            if _len(args) < 2 or _type(args[0]) is not str or _type(args[1]) is not str:
                return False  # a str subclass could answer == for anything
            return (args[0], args[1]) in pickle_allowed
        if event in ("os.kill", "os.killpg"):
            return event == "os.kill" and _type(args[0]) is _int and args[0] == own_pid
        if event in read_events:
            return not args or args[0] is None or readable(args[0])
        if event in write_events:
            return _type(args[0]) is not int and writable(args[0], caller())
        if event in ("os.rename", "os.link", "os.symlink"):
            frame = caller()
            source_ok = event == "os.symlink" or writable(args[0], frame)
            return source_ok and writable(args[1], frame)
        if event == "sqlite3.connect":
            return as_text(args[0]) == ":memory:" or writable(args[0], caller())
        return True

    def frameless(handler: Any) -> Callable[[int, Any], Any]:
        def handle(signum: int, _frame: Any) -> Any:
            del _frame  # the interrupted frame: possibly the hook's or the harness's
            if _ident() in in_hook:
                for pending in held:  # one call per signal due, as the interpreter does
                    if pending[0] is handler and pending[1] == signum:
                        return None
                held.append((handler, signum))
                return None
            return handler(signum, None)

        return handle

    def release_held() -> None:
        """Raise the held signals again: the interpreter then calls their handlers at its
        next check, after the hook has returned (as it would have, one hook later)."""
        while held:
            _handler, signum = held.pop(0)
            _raise_signal(signum)

    def install_signal(args: tuple[Any, ...]) -> None:
        if _len(args) != 3 or _type(args[2]) is not _list:
            return
        handler = args[1]
        if _callable(handler):
            handler = frameless(handler)
        args[2].append(_install_signal(args[0], handler))

    def fd_call(args: tuple[Any, ...]) -> None:
        """An audited `os` descriptor function (`_audit_fd_functions`): each descriptor it
        names is checked as the event "os.<name>" would be, then the call is made here."""
        if (_len(args) != 4 or _type(args[0]) is not _str or _type(args[1]) is not _tuple
                or _type(args[2]) is not _dict or _type(args[3]) is not _list):
            return
        name, call_args, call_kwargs, box = args
        if name == "closerange" and _len(call_args) == 2:
            for fd in protected:
                if _type(call_args[0]) is _int and call_args[0] <= fd < call_args[1]:
                    check("os.close", (fd,))
            box.append(_closerange(*call_args))
            return
        if name not in fd_functions:
            return
        original, positions = fd_functions[name]
        for position in positions:
            if position < _len(call_args):
                check("os." + name, (call_args[position],))
        for key, value in call_kwargs.items():
            if key in fd_keywords:
                check("os." + name, (value,))
        box.append(original(*call_args, **call_kwargs))

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event in passthrough:
            return
        me = _ident()
        if me in in_hook:  # an event the hook's own work raises
            check(event, args)
            return
        in_hook.add(me)
        try:
            check(event, args)
        finally:
            in_hook.discard(me)
            if held:
                release_held()

    def check(event: str, args: tuple[Any, ...]) -> None:
        if event == signal_event:
            install_signal(args)
            return
        if event == fd_call_event:
            fd_call(args)
            return
        if event in near_script_events and _ident() in busy:
            return  # the guard's own look at the stack
        if event in denied_events or event.partition(".")[0] in denied_prefixes:
            deny(event, caller(), args)
            return
        if event in fd_events and args and _type(args[0]) is _int and args[0] in protected:
            deny(event, caller(), args)
            return
        if not allowed(event, args):
            deny(event, caller(), args)

    # Handlers installed before arming (the interpreter's SIGINT handler raises
    # KeyboardInterrupt) are held the same way, so none can cut a denial's record short.
    try:
        for signum in _signal.valid_signals():
            current = _signal.getsignal(signum)
            if _callable(current):
                _install_signal(signum, frameless(current))
    except ValueError:  # not the main thread: no handler can be installed from here
        pass
    return hook
