"""Landlock for the harness: the kernel's own path-based access control, by raw syscalls.

Landlock (Linux >= 5.13) lets an unprivileged process restrict the files it (and every
process it starts) may open from then on, whatever code opens them: Python, or native
library code that raises no audit event (torch's `UntypedStorage.from_file`, tokenizers,
numpy's C paths), which the runtime guard cannot see.

Structures, constants and the best-effort ABI handling follow the kernel's
Documentation/userspace-api/landlock.rst and include/uapi/linux/landlock.h
(https://docs.kernel.org/userspace-api/landlock.html). The PyPI `landlock` package is a
pre-release (1.0.0.dev5), so this is the documented three syscalls through ctypes.

ABI versions and what each adds (all handled, best effort: rights the running kernel does
not know are left out, so a job on an older kernel runs with what it has):
  1 (5.13) the filesystem rights  2 (5.19) REFER  3 (6.2) TRUNCATE
  4 (6.7) TCP bind/connect  5 (6.10) IOCTL_DEV  6 (6.12) scopes: abstract unix sockets,
  signals  7 (6.15) audit-log flags only  8 TSYNC: enforce on every thread of the process.
Before ABI 8, `landlock_restrict_self` restricts the calling thread only (and what it
starts later): threads that already exist keep their access; `enforce` counts them.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported for real only in `enforce`, which then forgets it
    import ctypes

SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446  # every arch but alpha
CREATE_RULESET_VERSION = 1 << 0
RULE_PATH_BENEATH = 1
RESTRICT_SELF_TSYNC = 1 << 3
PR_SET_NO_NEW_PRIVS = 38

# enum landlock_access_fs
EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13  # ABI 2
TRUNCATE = 1 << 14  # ABI 3
IOCTL_DEV = 1 << 15  # ABI 5
# enum landlock_access_net (ABI 4) and the scopes (ABI 6)
NET_BIND_TCP = 1 << 0
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0
SCOPE_SIGNAL = 1 << 1

_FS_V1 = (1 << 13) - 1
FS_BY_ABI: dict[int, int] = {
    1: _FS_V1,
    2: _FS_V1 | REFER,
    3: _FS_V1 | REFER | TRUNCATE,
    5: _FS_V1 | REFER | TRUNCATE | IOCTL_DEV,
}
# Rights a rule on a non-directory may carry (the kernel refuses others with EINVAL).
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV

READ = READ_FILE | READ_DIR
RUNTIME = READ | EXECUTE  # what is already installed may run; nothing the job writes
DEVICE = READ_FILE | WRITE_FILE | TRUNCATE | IOCTL_DEV
# A scratch directory: everything but executing and creating device nodes.
WRITE = (
    READ
    | WRITE_FILE
    | TRUNCATE
    | REMOVE_DIR
    | REMOVE_FILE
    | MAKE_DIR
    | MAKE_REG
    | MAKE_SOCK
    | MAKE_FIFO
    | MAKE_SYM
    | REFER
)

Rule = tuple[str, int]  # (path, access rights allowed beneath it)


class LandlockUnavailable(OSError):
    """The kernel has no Landlock (not built in, or not in the `lsm=` list)."""


@dataclass(frozen=True)
class Enforcement:
    """What `enforce` applied: the ABI, the handled filesystem rights, whether every
    thread was restricted (ABI >= 8) and, if not, how many other threads kept their access."""

    abi: int
    handled_fs: int
    all_threads: bool
    unrestricted_threads: int
    rules: int

    def describe(self) -> str:
        threads = (
            "every thread"
            if self.all_threads
            else f"{self.unrestricted_threads} earlier thread(s) not restricted"
        )
        return f"Landlock ABI {self.abi} enforced ({self.rules} rules, {threads})"


def _fs_rights(abi: int) -> int:
    return FS_BY_ABI[max(v for v in FS_BY_ABI if v <= abi)]


def _libc() -> ctypes.CDLL:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def _syscall(number: int, *args: object) -> int:
    import ctypes

    result = int(_libc().syscall(ctypes.c_long(number), *args))
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    return result


def abi_version() -> int:
    """The kernel's Landlock ABI version (>= 1). Raises `LandlockUnavailable`."""
    try:
        return _syscall(SYS_CREATE_RULESET, None, 0, CREATE_RULESET_VERSION)
    except OSError as exc:
        if exc.errno in (errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM):
            # EPERM: a seccomp filter (some container runtimes') refuses the call.
            raise LandlockUnavailable(exc.errno, f"Landlock unavailable: {exc.strerror}") from exc
        raise


def _create_ruleset(abi: int, handled_fs: int) -> int:
    import ctypes

    class RulesetAttr(ctypes.Structure):
        _fields_ = [
            ("handled_access_fs", ctypes.c_uint64),
            ("handled_access_net", ctypes.c_uint64),
            ("scoped", ctypes.c_uint64),
        ]

    net = NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0
    # No SCOPE_SIGNAL: signals between the harness's own threads must keep working on
    # kernels where a scope also covers earlier, unrestricted threads.
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET if abi >= 6 else 0
    attr = RulesetAttr(handled_fs, net, scoped)
    # An older kernel reads only the fields it knows (the size tells it how many).
    size = 8 if abi < 4 else 16 if abi < 6 else ctypes.sizeof(attr)
    return _syscall(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)


def _add_rule(ruleset_fd: int, path: str, access: int) -> bool:
    """Allow `access` beneath `path` (masked to what a file may carry); False when the
    path does not exist (nothing to allow)."""
    import ctypes

    class PathBeneathAttr(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            access &= FILE_RIGHTS
        if not access:
            return False
        attr = PathBeneathAttr(access, fd)
        _syscall(SYS_ADD_RULE, ruleset_fd, RULE_PATH_BENEATH, ctypes.byref(attr), 0)
    finally:
        os.close(fd)
    return True


def _other_threads() -> int:
    try:
        return max(0, len(os.listdir("/proc/self/task")) - 1)
    except OSError:
        return -1


def enforce(rules: Iterable[Rule]) -> Enforcement:
    """Restrict this process from now on to `rules`: every filesystem right the kernel's
    ABI knows is denied except where a rule allows it beneath a path; TCP bind/connect
    (ABI >= 4) and abstract unix sockets outside the domain (ABI >= 6) are denied.
    Paths that do not exist are skipped. Irreversible.

    Raises `LandlockUnavailable` (no Landlock: nothing was restricted), OSError (a
    syscall failed: nothing was restricted either).
    """
    before = set(sys.modules)
    try:
        abi = abi_version()
        handled = _fs_rights(abi)
        ruleset_fd = _create_ruleset(abi, handled)
        try:
            count = sum(_add_rule(ruleset_fd, path, access & handled) for path, access in rules)
            _libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)  # required unless CAP_SYS_ADMIN
            tsync = abi >= 8
            others = 0 if tsync else _other_threads()
            _syscall(SYS_RESTRICT_SELF, ruleset_fd, RESTRICT_SELF_TSYNC if tsync else 0)
        finally:
            os.close(ruleset_fd)
    finally:
        # ctypes stays out of sys.modules if it was not there: a script's `import ctypes`
        # must be the import the runtime guard sees, not a lookup of ours.
        for name in set(sys.modules) - before:
            del sys.modules[name]
    return Enforcement(
        abi=abi, handled_fs=handled, all_threads=tsync, unrestricted_threads=others, rules=count
    )


def rules_for(
    read: Sequence[str],
    write: Sequence[str],
    devices: Sequence[str],
    runtime: Sequence[str] = (),
) -> list[Rule]:
    """Rules from path lists: read-only trees, scratch trees, device nodes, and runtime
    trees (read and execute: whether a job may exec at all is the seccomp filter's and
    the guard's call; Landlock only keeps it to what was installed)."""
    return (
        [(p, READ) for p in read]
        + [(p, WRITE) for p in write]
        + [(p, DEVICE) for p in devices]
        + [(p, RUNTIME) for p in runtime]
    )
