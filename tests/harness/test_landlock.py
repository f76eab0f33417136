"""The harness's Landlock wrapper (sandbox_images/harness/landlock.py) and the rules it
enforces for a job (confinement.py): ABI handling, the unavailable path, real
enforcement in a child process, and the result written through a pre-opened fd."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from orchestrator.local.result_file import read_result
from orchestrator.sandbox import GUARD_RECORD_NAME, ResultRejected

# The line the harness writes first into every guard record (guard.RECORD_HEADER).
HEADER = b'{"evalpod_guard_record": 1, "nonce": "' + b"0" * 32 + b'"}\n'

HARNESS_DIR = Path(__file__).resolve().parents[2] / "sandbox_images" / "harness"
# The harness imports its modules by their own names (run.py puts its directory first).
if str(HARNESS_DIR) not in sys.path:
    sys.path.insert(0, str(HARNESS_DIR))

import confinement  # noqa: E402
import landlock  # noqa: E402

V1 = (1 << 13) - 1


def _abi() -> int:
    try:
        return int(landlock.abi_version())
    except landlock.LandlockUnavailable:
        return 0


needs_landlock = pytest.mark.skipif(_abi() < 1, reason="the kernel has no Landlock")


@pytest.mark.parametrize(
    ("abi", "rights"),
    [
        (1, V1),
        (2, V1 | landlock.REFER),
        (3, V1 | landlock.REFER | landlock.TRUNCATE),
        (4, V1 | landlock.REFER | landlock.TRUNCATE),
        (5, V1 | landlock.REFER | landlock.TRUNCATE | landlock.IOCTL_DEV),
        (6, V1 | landlock.REFER | landlock.TRUNCATE | landlock.IOCTL_DEV),
        (7, V1 | landlock.REFER | landlock.TRUNCATE | landlock.IOCTL_DEV),
        (8, V1 | landlock.REFER | landlock.TRUNCATE | landlock.IOCTL_DEV),
    ],
)
def test_each_abi_handles_the_rights_it_knows(abi: int, rights: int) -> None:
    assert landlock._fs_rights(abi) == rights


@pytest.mark.parametrize(("abi", "size"), [(1, 8), (3, 8), (4, 16), (5, 16), (6, 24), (7, 24)])
def test_the_ruleset_attr_size_matches_the_abi(
    abi: int, size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An older kernel refuses a larger struct with non-zero fields it does not know."""
    calls: list[tuple[Any, ...]] = []

    def record(*args: Any) -> int:
        calls.append(args)
        return 3

    monkeypatch.setattr(landlock, "_syscall", record)
    landlock._create_ruleset(abi, landlock._fs_rights(abi))
    assert calls[0][0] == landlock.SYS_CREATE_RULESET
    assert calls[0][2].value == size


@pytest.mark.parametrize("code", [errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM])
def test_no_landlock_is_reported_unavailable(code: int, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object) -> int:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(landlock, "_syscall", refuse)
    with pytest.raises(landlock.LandlockUnavailable):
        landlock.abi_version()


def test_without_landlock_auto_runs_and_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(*_args: object) -> int:
        raise OSError(errno.ENOSYS, "Function not implemented")

    monkeypatch.setattr(landlock, "_syscall", refuse)
    confinement.confiner({"kind": "script"}, HARNESS_DIR, "/data", ("/tmp",))()
    assert "Landlock unavailable" in capsys.readouterr().err
    required = confinement.confiner({"landlock": "required"}, HARNESS_DIR, "/data", ("/tmp",))
    with pytest.raises(confinement.LandlockRequired):
        required()


@pytest.mark.parametrize(
    ("spec", "mode"),
    [
        ({}, "auto"),
        ({"kind": "lm_eval"}, "auto"),
        ({"landlock": "off"}, "off"),
        ({"landlock": "required"}, "required"),
        ({"landlock": "bogus"}, "auto"),
        ({"kind": "score"}, "off"),
        ({"kind": "dataset_check", "landlock": "required"}, "off"),
    ],
)
def test_mode(spec: dict[str, Any], mode: str) -> None:
    assert confinement.mode(spec) == mode


ENFORCE = """
import json, os, subprocess, sys
sys.path.insert(0, sys.argv[1])
import landlock
root = sys.argv[2]
had_ctypes = "ctypes" in sys.modules
applied = landlock.enforce(landlock.rules_for(
    [*sys.path[1:], sys.prefix, sys.base_prefix, root + "/ro"], [root + "/rw"], ["/dev/null"],
    ["/usr"]))
outcomes = {"ctypes_left": (not had_ctypes) and "ctypes" in sys.modules}
def attempt(name, action):
    try:
        action()
        outcomes[name] = "ok"
    except PermissionError:
        outcomes[name] = "denied"
attempt("read_ro", lambda: open(root + "/ro/file").read())
attempt("write_ro", lambda: open(root + "/ro/file", "a"))
attempt("read_secret", lambda: open(root + "/secret").read())
attempt("write_rw", lambda: open(root + "/rw/new", "w").write("x"))
attempt("mkdir_ro", lambda: os.mkdir(root + "/ro/d"))
attempt("dev_null", lambda: open("/dev/null", "w").write("x"))
attempt("proc_fd_reopen", lambda: open("/proc/self/fd/%d" % os.open(root + "/ro/file", 0), "a"))
attempt("exec_runtime", lambda: subprocess.run(["/usr/bin/true"], check=True))
attempt("exec_written", lambda: subprocess.run([root + "/rw/true"], check=True))
print(json.dumps({"abi": applied.abi, **outcomes}))
"""


@needs_landlock
def test_enforce_allows_only_the_rules(tmp_path: Path) -> None:
    (tmp_path / "ro").mkdir()
    (tmp_path / "rw").mkdir()
    (tmp_path / "ro" / "file").write_text("public")
    (tmp_path / "secret").write_text("spec")
    shutil.copy("/usr/bin/true", tmp_path / "rw" / "true")
    done = subprocess.run(
        [sys.executable, "-I", "-c", ENFORCE, str(HARNESS_DIR), str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    outcomes = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcomes == {
        "abi": _abi(),
        "ctypes_left": False,
        "read_ro": "ok",
        "write_ro": "denied",
        "read_secret": "denied",
        "write_rw": "ok",
        "mkdir_ro": "denied",
        "dev_null": "ok",
        "proc_fd_reopen": "denied",
        "exec_runtime": "ok",
        "exec_written": "denied",
    }


def test_job_rules_leave_out_job_and_out(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = {"model_path": "/model", "datasets": {"d": "/data/d/v1"}, "task_include_path": "/t"}
    monkeypatch.chdir("/tmp")
    readable = [
        *confinement.read_paths(spec, Path("/opt/evalpod/harness"), "/data"),
        *confinement.runtime_paths(),
    ]
    writable = confinement.write_paths(("/work", "/tmp", "/dev/shm"))
    for path in ("/model", "/data", "/data/d", "/t", "/opt/evalpod/harness", "/proc/self"):
        assert path in readable
    for path in (*readable, *writable):
        assert not path.startswith(("/job", "/out", "/etc/shadow")), path
        assert path not in ("/", "/etc", "/proc", "/dev")
    assert set(writable) <= {"/work", "/tmp", "/dev/shm", os.path.realpath("/tmp")}


def _write_result(path: str, payload: dict[str, Any], fd: int | None) -> None:
    import run

    run._write_result(path, payload, fd)


def test_result_through_the_fd_pads_a_longer_first_write(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        _write_result(str(path), {"ok": True, "metrics": {"x": "y" * 100}}, fd)
        _write_result(str(path), {"ok": False, "error": "e"}, fd)
    finally:
        os.close(fd)
    assert json.loads(path.read_text()) == {"ok": False, "error": "e"}


def test_an_empty_result_file_is_no_result(tmp_path: Path) -> None:
    """The harness creates result.json empty before Landlock; a job that dies before
    writing it is read as one that wrote nothing, and the guard's record still wins."""
    (tmp_path / "result.json").write_bytes(b"")
    dir_fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with pytest.raises(ResultRejected, match="no result file was written"):
            read_result(dir_fd, 1024)
        record = {"event": "open", "detail": "open denied", "line": 3}
        (tmp_path / GUARD_RECORD_NAME).write_bytes(HEADER + json.dumps(record).encode() + b"\n")
        result = read_result(dir_fd, 1024)
    finally:
        os.close(dir_fd)
    assert result.ok is False and result.violation is not None
    assert result.violation.detail == "open denied"


@pytest.mark.parametrize(
    ("record", "detail"),
    [
        (b"", None),
        (b" " * 64, "runtime guard record blanked"),  # the reported from_file overwrite
        (b"\n" + b'{"event": "open", "detail": "open denied"}\n', "open denied"),
        (b"\n\n \n", "runtime guard record blanked"),
        (
            b"junk\n" + b'{"event": "open", "detail": "open denied"}\n',
            "runtime guard record malformed",
        ),
    ],
)
def test_a_record_written_through_its_fd_cannot_hide_a_denial(
    record: bytes, detail: str | None, tmp_path: Path
) -> None:
    """The record's fd is in the script's process: bytes it writes there (no audit event,
    no path) must not push the guard's line out of reach or blank it."""
    (tmp_path / GUARD_RECORD_NAME).write_bytes(HEADER + record)
    (tmp_path / "result.json").write_text('{"ok": true, "metrics": {"accuracy": 1.0}}')
    dir_fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        result = read_result(dir_fd, 1024)
    finally:
        os.close(dir_fd)
    if detail is None:
        assert result.ok and result.violation is None
    else:
        assert not result.ok and result.violation is not None
        assert result.violation.detail == detail


def test_no_writable_temp_dir_is_no_scratch_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under a read-only root (bench/sandbox.py's minimal bwrap) gettempdir raises: the
    confinement then grants no temp dir instead of failing the job before its script."""
    import tempfile

    def no_temp_dir() -> str:
        raise FileNotFoundError("No usable temporary directory found")

    monkeypatch.setattr(tempfile, "gettempdir", no_temp_dir)
    assert confinement.temp_dirs() == []
    assert "/tmp" not in confinement.write_paths(["/work"])
    assert "/work" in confinement.write_paths(["/work"])
