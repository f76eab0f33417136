"""Landlock in a real sandbox: file I/O by native library code, which raises no audit
event and so passes the runtime guard, is refused by the kernel (issue: torch's
`UntypedStorage.from_file` read /job/spec.json and overwrote /out/violation.json, so a
policy kill was reported as an ordinary crash)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.escape.test_guard import sandbox_run

SCRIPTS = Path(__file__).parent / "landlock_scripts"
NATIVE_FILE_IO = SCRIPTS / "native_file_io.py"


def _landlock_abi() -> int:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    return int(libc.syscall(444, None, 0, 1))


pytestmark = pytest.mark.skipif(_landlock_abi() < 1, reason="the kernel has no Landlock")


def _outcomes(tail: str) -> dict[str, str]:
    line = next(x for x in tail.splitlines() if x.startswith("LANDLOCK "))
    outcomes: dict[str, str] = json.loads(line.removeprefix("LANDLOCK "))
    return outcomes


def _line_of(script: Path, text: str) -> int:
    return next(i for i, x in enumerate(script.read_text().splitlines(), 1) if text in x)


def test_native_opens_of_job_and_out_are_refused(tmp_path: Path) -> None:
    report = sandbox_run(NATIVE_FILE_IO, tmp_path)
    tail = str(report["stdout_tail"])
    assert "Landlock ABI" in tail and "enforced" in tail, tail[-2000:]
    outcomes = _outcomes(tail)
    assert set(outcomes) == {
        "/job/spec.json",
        "/job/script.py",
        "/out/violation.json",
        "/out/result.json",
    }
    for path, outcome in outcomes.items():
        assert "Permission denied" in outcome, (path, outcome)


def test_the_earlier_denial_survives(tmp_path: Path) -> None:
    """The guard's record of the first denial is what the host reports: killed, policy,
    the open of /job/spec.json at its line, not a crash with `violation: null`."""
    report = sandbox_run(NATIVE_FILE_IO, tmp_path)
    assert report["status"] == "killed", report
    violation = report["violation"]
    assert isinstance(violation, dict), report
    assert violation["kind"] == "policy", report
    assert violation["detail"] == "open denied", report
    assert violation["target"] == "/job/spec.json", report
    assert violation["line"] == _line_of(NATIVE_FILE_IO, 'open("/job/spec.json"'), report
    assert report["result"] is None, report
