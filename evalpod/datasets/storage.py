"""Dataset files on disk: streamed uploads, atomic publish, copy-out of the check's output.

Layout under `EVALPOD_HOME/datasets/` (0700):
`incoming/` partial uploads; `export/` what a check job writes (sandbox-writable);
`<tenant>/<version id>/raw/` the upload as received, `public/` the Arrow files
mounted at /data, `hidden/` the hidden columns, read only by the trusted scorer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import stat
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from evalpod.datasets.errors import StorageFull
from evalpod.settings import Settings

FREE_CHECK_EVERY = 64 * 1024 * 1024
COPY_CHUNK = 1024 * 1024
RAW, PUBLIC, HIDDEN = "raw", "public", "hidden"


def datasets_root(settings: Settings) -> Path:
    return settings.home_dir / "datasets"


def version_dir(settings: Settings, tenant_id: str, version_id: str) -> Path:
    return datasets_root(settings) / tenant_id / version_id


def _private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class Upload:
    """A fully received upload, still in `incoming/`."""

    path: Path
    size_bytes: int
    sha256: str

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def _free_bytes(path: Path) -> int:
    info = os.statvfs(path)
    return info.f_bavail * info.f_frsize


async def receive(chunks: AsyncIterator[bytes], settings: Settings, allowance: int) -> Upload:
    """Stream `chunks` into a file under `incoming/`, hashing as it goes.

    Memory stays at one chunk whatever the size. Raises `StorageFull` (and removes the
    partial file) once the upload passes `allowance` bytes or would leave less than
    `dataset_min_free_bytes` on the disk.
    """
    incoming = _private_dir(datasets_root(settings) / "incoming")
    fd, name = tempfile.mkstemp(dir=incoming, suffix=".part")
    path = Path(name)
    digest = hashlib.sha256()
    size = next_free_check = 0
    try:
        with os.fdopen(fd, "wb") as handle:
            async for chunk in chunks:
                size += len(chunk)
                if size > allowance:
                    raise StorageFull(
                        f"upload passes this tenant's dataset storage ({allowance} bytes left)",
                        detail={"allowance_bytes": allowance})
                if size >= next_free_check:
                    if _free_bytes(incoming) - len(chunk) < settings.dataset_min_free_bytes:
                        raise StorageFull("the server's disk is full",
                                          detail={"min_free_bytes":
                                                  settings.dataset_min_free_bytes})
                    next_free_check = size + FREE_CHECK_EVERY
                digest.update(chunk)
                handle.write(chunk)
            await asyncio.to_thread(_flush, handle.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Upload(path, size, digest.hexdigest())


def _flush(fd: int) -> None:
    os.fsync(fd)


def publish(upload: Upload, settings: Settings, tenant_id: str, version_id: str,
            file_name: str) -> Path:
    """Move the upload to `<version>/raw/<file_name>` in one rename; returns the version dir.

    The directories are 0755 and the file 0644: the sandbox user reads them through a
    bind mount (the 0700 datasets root keeps other host users out).
    """
    target = version_dir(settings, tenant_id, version_id)
    _private_dir(target.parent)
    raw = target / RAW
    raw.mkdir(mode=0o755, parents=True)
    os.chmod(target, 0o755)
    os.chmod(upload.path, 0o644)
    os.replace(upload.path, raw / file_name)
    return target


def remove_version(settings: Settings, tenant_id: str, version_id: str) -> None:
    shutil.rmtree(version_dir(settings, tenant_id, version_id), ignore_errors=True)


def new_export_dir(settings: Settings, version_id: str) -> Path:
    """An empty directory the check job may write (bound at /export)."""
    root = _private_dir(datasets_root(settings) / "export")
    path = root / f"{version_id}-{uuid.uuid4().hex[:8]}"
    path.mkdir(mode=0o700)
    return path


class ExportRejected(ValueError):
    """A file the check job was to write is missing, not a regular file or too large."""


def copy_export(export: Path, relative: str, destination: Path, max_bytes: int) -> int:
    """Copy one file the sandbox wrote (`<dir>/<name>`, exactly two levels) into storage.

    Every component is opened with O_NOFOLLOW relative to a directory fd the host made,
    so a symlink or a swapped directory planted by the sandbox cannot redirect the read;
    the copy stops at `max_bytes`.
    """
    parts = relative.split("/")
    if len(parts) != 2 or any(p in {"", ".", ".."} for p in parts):
        raise ExportRejected(f"bad export path {relative!r}")
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    root = os.open(export, flags | os.O_DIRECTORY)
    try:
        sub = os.open(parts[0], flags | os.O_DIRECTORY, dir_fd=root)
        try:
            source = os.open(parts[1], flags | os.O_NONBLOCK, dir_fd=sub)
        finally:
            os.close(sub)
    except OSError as exc:
        raise ExportRejected(f"{relative}: {exc.strerror}") from exc
    finally:
        os.close(root)
    with os.fdopen(source, "rb") as reader:
        info = os.fstat(reader.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ExportRejected(f"{relative} is not a regular file")
        destination.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        copied = 0
        with open(destination, "wb") as writer:
            while chunk := reader.read(COPY_CHUNK):
                copied += len(chunk)
                if copied > max_bytes:
                    raise ExportRejected(f"{relative} is over {max_bytes} bytes")
                writer.write(chunk)
        os.chmod(destination, 0o644)
    return copied
