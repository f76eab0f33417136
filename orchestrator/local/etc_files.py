"""The host's loader and time-zone files (`bwrap.ETC_FILES`), copied into each sandbox's /etc."""

from __future__ import annotations

import os
import stat
import threading
import time

Snapshot = dict[str, bytes]  # path in the sandbox (the host's own path) -> content
Signature = tuple[tuple[str, int, int, int], ...]

# How long a snapshot is used without looking at the files again (each look is a stat of
# every file): a rewritten ld.so.cache reaches the sandboxes started a second later.
RECHECK_S = 1.0

_lock = threading.Lock()
_cached: tuple[Signature, Snapshot] | None = None
_checked: tuple[tuple[str, ...], float] | None = None  # paths, when last compared


def _signature(paths: tuple[str, ...]) -> Signature:
    """What changes when any of `paths` does (a directory's mtime moves when a file is
    added, removed or renamed in it; a rewritten file gets a new mtime or inode)."""
    marks = []
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            marks.append((path, 0, 0, 0))
            continue
        marks.append((path, info.st_ino, info.st_mtime_ns, info.st_size))
        if stat.S_ISDIR(info.st_mode):
            for name in sorted(_entries(path)):
                try:
                    inner = os.stat(os.path.join(path, name))
                except OSError:
                    continue
                marks.append((os.path.join(path, name), inner.st_ino, inner.st_mtime_ns,
                              inner.st_size))
    return tuple(marks)


def _entries(directory: str) -> list[str]:
    try:
        return os.listdir(directory)
    except OSError:
        return []


def _read(paths: tuple[str, ...]) -> Snapshot:
    """Each path's content (symlinks followed: /etc/localtime names a zone file); a
    directory as its regular files, one level; what does not exist is left out."""
    files: Snapshot = {}
    for path in paths:
        if os.path.isdir(path):
            for name in sorted(_entries(path)):
                inner = os.path.join(path, name)
                if os.path.isfile(inner):
                    files.update(_read_file(inner))
        else:
            files.update(_read_file(path))
    return files


def _read_file(path: str) -> Snapshot:
    try:
        with open(path, "rb") as handle:
            return {path: handle.read()}
    except OSError:
        return {}


def snapshot(paths: tuple[str, ...]) -> Snapshot:
    """The files to copy into a sandbox for `paths`, read again only when one of them
    changed (an `ldconfig` run rewrites ld.so.cache while the service runs); looked at
    again at most every RECHECK_S."""
    global _cached, _checked
    with _lock:
        now = time.monotonic()
        recent = _checked is not None and _checked[0] == paths and now - _checked[1] < RECHECK_S
        if _cached is not None and recent:
            return _cached[1]
        signature = _signature(paths)
        if _cached is None or _cached[0] != signature:
            _cached = (signature, _read(paths))
        _checked = (paths, now)
        return _cached[1]
