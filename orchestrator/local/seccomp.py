"""The seccomp filter of local sandboxes, compiled once with libseccomp to a BPF blob."""

from __future__ import annotations

import errno
import os
import signal
from functools import lru_cache

# Nothing an evaluation legitimately does; a call is an attack, so the process dies
# with SIGSYS and the monitor reports a `syscall` violation.
KILLED_SYSCALLS: tuple[str, ...] = (
    "ptrace", "process_vm_readv", "process_vm_writev",
    "mount", "umount2", "pivot_root", "move_mount", "open_tree", "fsopen", "fsmount",
    "fsconfig", "fspick", "mount_setattr",
    "unshare", "setns",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "reboot", "swapon", "swapoff", "bpf", "keyctl", "add_key", "request_key",
    "open_by_handle_at", "iopl", "ioperm", "acct",
)  # fmt: skip
# Calls that libraries probe on their own (profilers, clocks, async io): failing them
# with EPERM keeps an innocent job alive while still denying the capability.
DENIED_SYSCALLS: tuple[str, ...] = (
    "perf_event_open", "userfaultfd", "clock_settime", "clock_adjtime", "settimeofday",
    "adjtimex", "syslog", "fanotify_init", "name_to_handle_at", "kcmp", "quotactl",
    "lookup_dcookie", "vhangup", "io_uring_setup", "io_uring_enter", "io_uring_register",
)  # fmt: skip
AF_UNIX = 1
CLONE_NEWUSER = 0x10000000
# personality() flags that weaken ASLR or make data executable.
PERSONALITY_DENIED_BITS: tuple[int, ...] = (0x0040000, 0x0400000)
SECCOMP_KILL_SIGNAL = signal.SIGSYS


def _build_filter() -> bytes:
    import pyseccomp as sc

    filt = sc.SyscallFilter(sc.ALLOW)
    for name in KILLED_SYSCALLS:
        filt.add_rule(sc.KILL_PROCESS, name)
    for name in DENIED_SYSCALLS:
        filt.add_rule(sc.ERRNO(errno.EPERM), name)
    # Only AF_UNIX sockets: the net namespace already has nothing but loopback, this
    # also closes loopback and raw/netlink/packet sockets.
    filt.add_rule(sc.ERRNO(errno.EACCES), "socket", sc.Arg(0, sc.NE, AF_UNIX))
    # New user namespaces (the only namespace an unprivileged uid may create): clone
    # flags are checkable, clone3's struct is not, so clone3 looks absent and glibc
    # falls back to clone.
    filt.add_rule(sc.KILL_PROCESS, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER))
    filt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    for bit in PERSONALITY_DENIED_BITS:
        filt.add_rule(sc.ERRNO(errno.EPERM), "personality", sc.Arg(0, sc.MASKED_EQ, bit, bit))
    fd = os.memfd_create("evalpod-seccomp-build", os.MFD_CLOEXEC)
    try:
        with os.fdopen(os.dup(fd), "wb") as sink:
            filt.export_bpf(sink)
        return os.pread(fd, os.fstat(fd).st_size, 0)
    finally:
        os.close(fd)


@lru_cache(maxsize=1)
def seccomp_program() -> bytes:
    """The BPF program (raises ImportError/OSError where libseccomp is unusable)."""
    return _build_filter()


def seccomp_memfd() -> int:
    """A fresh fd holding the program at offset 0, for `bwrap --seccomp FD`."""
    fd = os.memfd_create("evalpod-seccomp", os.MFD_CLOEXEC)
    os.write(fd, seccomp_program())
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
