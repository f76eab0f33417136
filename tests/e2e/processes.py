"""Host-side process inspection for "nothing of the job survives" checks."""

from __future__ import annotations

import os
from pathlib import Path

from orchestrator.local.cgroups import CGROUP_ROOT, JOB_XATTR


def processes_mentioning(fragment: str) -> list[tuple[int, str]]:
    """Live processes whose command line contains `fragment` (zombies excluded)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if fragment in cmdline and state != "Z":
            found.append((int(entry.name), cmdline))
    return found


def processes_of_job(job_id: str) -> list[int]:
    """Live processes in the job's cgroup or naming the job: nothing of it may survive a kill.

    The sandboxed interpreter's command line does not name the job, but its cgroup does,
    and a process that escaped the cgroup would still carry bwrap's job-dir arguments. A
    job drawn from the warm pool runs in the warm sandbox's cgroup, which takes the job's
    name at assignment (cgroup v1 renames it; v2 records it in the `user.evalpod.job`
    xattr), so pooled and cold jobs are found alike.
    """
    marker = f"/job-{job_id}"
    found = {pid for pid, _ in processes_mentioning(job_id)}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cgroups = (entry / "cgroup").read_text()
        except OSError:
            continue
        if marker in cgroups or _labelled(cgroups, f"job-{job_id}"):
            found.add(int(entry.name))
    return sorted(found)


def _labelled(cgroups: str, name: str) -> bool:
    """Whether the process's cgroup v2 directory records `name` as its job's."""
    for line in cgroups.splitlines():
        if not line.startswith("0::/") or line == "0::/":
            continue
        for root in (CGROUP_ROOT, CGROUP_ROOT / "unified"):
            try:
                if os.getxattr(root / line[4:], JOB_XATTR) == name.encode():
                    return True
            except OSError:
                continue
    return False


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (from /proc, at this moment)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, stack = set(), [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.add(child)
            stack.append(child)
    return found


def alive(pid: int) -> bool:
    """`pid` exists and is not a zombie."""
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
