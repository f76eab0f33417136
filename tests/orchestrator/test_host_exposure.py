"""What of the host a job can reach: writable storage (all capped tmpfs) and host paths.

Issue #12 fault 8 (a job filled the host disk through /out) and fault 13 (host paths in
/proc/1/cmdline).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from evalpod.settings import Settings
from orchestrator.local.backend import LocalBackend
from orchestrator.sandbox import ResourceLimits, SandboxJob, SandboxOutcome

ROOT = Path(__file__).resolve().parents[2]
# These tests probe the sandbox itself: the harness's runtime guard (which denies most of
# what they do, one layer up) stays off where the job model has the switch.
SANDBOX_LAYERS_ONLY: dict[str, Any] = {"guard": False} if "guard" in SandboxJob.model_fields else {}
# Device nodes bwrap binds into /dev: writable files, not storage.
DEVICE_FILES = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}
CAPPED_TMPFS = {"/work", "/tmp", "/dev/shm", "/out"}
# Read-only binds whose source path shows in mountinfo (the kernel prints it).
NAMED_SOURCES = ("/opt/evalpod/harness", "/opt/evalpod/runtime", "/opt/evalpod/tasks/", "/model")

SEE_EVERYTHING = """
import os, sys
def evaluate_model(model):
    cmdlines = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmdlines[pid] = open(f"/proc/{pid}/cmdline", "rb").read().decode("utf-8", "replace")
            except OSError:
                pass
    return {
        "cmdlines": cmdlines,
        "mountinfo": open("/proc/self/mountinfo").read(),
        "environ": dict(os.environ),
        "prefix": sys.prefix,
        "executable": sys.executable,
        "path": sys.path,
        "cwd": os.getcwd(),
    }
"""


def make_job(script: str, model: Path | None = None, **limits: object) -> SandboxJob:
    values: dict[str, object] = {"timeout_s": 60.0, "memory_mb": 1024, **limits}
    return SandboxJob(
        job_id=f"exposure-{os.getpid()}",
        script=script,
        model_path=model,
        limits=ResourceLimits.model_validate(values),
        **SANDBOX_LAYERS_ONLY,
        landlock="off",  # the mounts, namespaces and limits alone, as with the guard off
    )


async def discard(_line: str) -> None:
    return None


@pytest.fixture
def local(tmp_path: Path) -> LocalBackend:
    return LocalBackend(Settings(home=tmp_path / "evalpod-home"))


async def run(local: LocalBackend, job: SandboxJob) -> SandboxOutcome:
    return await local.run(job, discard)


def mounts(mountinfo: str) -> list[tuple[str, str, str, str, str]]:
    """(root within its filesystem, mount point, mount options, fs type, super options)."""
    found = []
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        fields, after = left.split(), right.split()
        found.append((fields[3], fields[4], fields[5], after[0], after[2]))
    return found


async def test_no_host_path_in_what_the_job_reads(local: LocalBackend) -> None:
    outcome = await run(local, make_job(SEE_EVERYTHING))
    assert outcome.status == "succeeded", outcome
    seen = outcome.result or {}
    home = str(local.settings.home_dir)
    hidden = (home, str(local.settings.jobs_dir), str(ROOT), sys.prefix)
    for pid, cmdline in seen["cmdlines"].items():
        assert not any(path in cmdline for path in hidden), (pid, cmdline)
    assert "1" in seen["cmdlines"] and "--args" in seen["cmdlines"]["1"]
    everything_else = repr([seen[k] for k in ("environ", "prefix", "executable", "path", "cwd")])
    assert not any(path in everything_else for path in hidden), everything_else
    assert seen["prefix"] == "/opt/evalpod/runtime" or sys.prefix == sys.base_prefix
    # mountinfo names bind sources; what remains is only read-only runtime and code.
    for root, point, options, _fstype, _ in mounts(seen["mountinfo"]):
        if any(path in root for path in hidden):
            assert point.startswith(NAMED_SOURCES), (root, point)
            assert options.split(",")[0] == "ro", (root, point, options)
        assert home not in root and str(local.settings.jobs_dir) not in root


async def test_every_writable_mount_is_a_capped_tmpfs(local: LocalBackend) -> None:
    outcome = await run(local, make_job(SEE_EVERYTHING, disk_mb=64))
    assert outcome.status == "succeeded", outcome
    writable = {}
    seen = outcome.result or {}
    for _root, point, options, fstype, super_options in mounts(seen["mountinfo"]):
        if options.split(",")[0] == "rw" and point not in DEVICE_FILES and point != "/dev/pts":
            writable[point] = (fstype, super_options)
    assert set(writable) == CAPPED_TMPFS, writable
    for point, (fstype, super_options) in writable.items():
        assert fstype == "tmpfs", (point, fstype)
        assert "size=" in super_options, (point, super_options)
    assert "size=65536k" in writable["/work"][1]
    assert "size=2048k" in writable["/out"][1]  # the 1 MiB result cap, written twice over


async def test_filling_out_is_a_disk_violation(local: LocalBackend) -> None:
    """The issue's example: 64 MiB disk limit, 721 MB written to /out."""
    script = (
        "def evaluate_model(model):\n"
        "    with open('/out/blob', 'wb') as sink:\n"
        "        for _ in range(721):\n"
        "            sink.write(b'x' * 1_000_000)\n"
        "    return {'wrote': 721}\n"
    )
    outcome = await run(local, make_job(script, disk_mb=64))
    assert outcome.status == "killed", outcome
    assert outcome.violation is not None and outcome.violation.kind == "disk", outcome
    assert "/out" in outcome.violation.detail
    assert not local.settings.jobs_dir.exists()


async def test_filling_out_then_exiting_at_once_is_still_seen(local: LocalBackend) -> None:
    script = (
        "import os\n"
        "def evaluate_model(model):\n"
        "    try:\n"
        "        with open('/out/blob', 'wb') as sink:\n"
        "            while True:\n"
        "                sink.write(b'x' * 1_000_000)\n"
        "    except OSError:\n"
        "        os._exit(0)\n"
    )
    outcome = await run(local, make_job(script, disk_mb=64))
    assert outcome.status == "killed", outcome
    assert outcome.violation is not None and outcome.violation.kind == "disk", outcome


async def test_a_result_just_under_its_cap_still_counts(local: LocalBackend) -> None:
    """/out's cap leaves room for the harness to write a full-size result."""
    script = "def evaluate_model(model):\n    return {'pad': 'x' * 900_000}\n"
    outcome = await run(local, make_job(script))
    assert outcome.status == "succeeded", (outcome.status, outcome.error, outcome.violation)
    assert len((outcome.result or {})["pad"]) == 900_000


EXPORTER = """
import os
def evaluate_model(model):
    os.makedirs("/export/public")
    with open("/export/public/part.arrow", "wb") as sink:
        sink.write(b"a" * 1000)
    os.symlink("/etc/passwd", "/export/public/link")
    os.mkfifo("/export/pipe")
    return {"mountinfo": open("/proc/self/mountinfo").read()}
"""


async def test_a_writable_data_mount_is_a_capped_tmpfs_copied_out(
    local: LocalBackend, tmp_path: Path
) -> None:
    from orchestrator.sandbox import DataMount

    export = tmp_path / "export"
    export.mkdir()
    job = make_job(EXPORTER, disk_mb=64).model_copy(
        update={"mounts": [DataMount(source=export, target="/export", writable=True)]}
    )
    outcome = await run(local, job)
    assert outcome.status == "succeeded", outcome
    mountinfo = (outcome.result or {})["mountinfo"]
    seen = {point: (fstype, sup) for _, point, _, fstype, sup in mounts(mountinfo)}
    assert seen["/export"][0] == "tmpfs" and "size=65536k" in seen["/export"][1]
    # Regular files and directories come out; the symlink and the FIFO do not.
    assert sorted(p.relative_to(export).as_posix() for p in export.rglob("*")) == [
        "public", "public/part.arrow",
    ]  # fmt: skip
    assert (export / "public" / "part.arrow").read_bytes() == b"a" * 1000


async def test_filling_a_writable_data_mount_is_a_disk_violation(
    local: LocalBackend, tmp_path: Path
) -> None:
    from orchestrator.sandbox import DataMount

    export = tmp_path / "export"
    export.mkdir()
    script = (
        "def evaluate_model(model):\n"
        "    for index in range(100):\n"
        "        with open(f'/export/f{index}', 'wb') as sink:\n"
        "            sink.write(b'x' * 8_000_000)\n"
    )
    job = make_job(script, disk_mb=64).model_copy(
        update={"mounts": [DataMount(source=export, target="/export", writable=True)]}
    )
    outcome = await run(local, job)
    assert outcome.status == "killed", outcome
    assert outcome.violation is not None and outcome.violation.kind == "disk", outcome
    # 800 MB attempted; the host holds at most the mount's cap.
    assert sum(p.stat().st_size for p in export.iterdir()) <= 64 * 1024 * 1024
