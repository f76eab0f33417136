"""A denial cannot be turned into `succeeded` through the harness's own descriptors, its
record or its end (attack2 F1: a script opened fds 3 and 4 by number through
`type(sys.stderr.buffer.raw)`, emptied the record with `FileIO.truncate`, wrote a forged
result, and rebound `json.dumps` to raise SystemExit(0) inside the harness's finish).

Real sandbox, no static check in front (`evalpod sandbox run --json`). Each script of
`tamper_scripts/` alone, the reported chain, and the untouched control.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.escape.test_guard import sandbox_run

SCRIPTS = Path(__file__).parent / "tamper_scripts"
SPEC = "/job/spec.json"
# script -> (status, violation detail, target); None: no violation.
EXPECTED: dict[str, tuple[str, str | None, str | None]] = {
    "forged_success_chain": ("killed", "open denied", SPEC),  # the reported example
    "control_denied_open": ("killed", "open denied", SPEC),
    "open_record_fd": ("killed", "open denied", "3"),
    "open_result_fd": ("killed", "open denied", "4"),
    # os.write on the record's fd is denied since os.write raises an event (round 5);
    # a record changed some other way is still "malformed".
    "append_to_record": ("killed", "os.write denied", "3"),
    "finish_exits_zero": ("killed", "open denied", SPEC),
    "finish_rebound_no_denial": ("succeeded", None, None),
    "script_system_exit": ("failed", None, None),
    # attack round 3: the opener's fd never reaches the guard; the harness sees its record
    # changed at its end (exit 86), which no result file can clear.
    "reinit_with_opener": ("killed", "runtime guard record tampered with", None),
    # attack round 5: os functions that take a descriptor and raise no audit event.
    "pwrite_result_fd": ("killed", "os.pwrite denied", "4"),
    "write_family_fds": ("killed", "os.write denied", "4"),
}


def test_every_script_has_an_expectation() -> None:
    assert sorted(EXPECTED) == sorted(p.stem for p in SCRIPTS.glob("*.py"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_tampering_never_succeeds(name: str, tmp_path: Path) -> None:
    status, detail, target = EXPECTED[name]
    report = sandbox_run(SCRIPTS / f"{name}.py", tmp_path)
    assert report["status"] == status, report
    violation = report["violation"]
    if detail is None:
        assert violation is None, report
    else:
        assert isinstance(violation, dict), report
        assert violation["kind"] == "policy", report
        assert violation["detail"] == detail, report
        assert violation.get("target") == target, report
        assert report["result"] is None, report
    if name == "finish_rebound_no_denial":
        # The harness wrote the script's own metrics, with encoders bound before it ran.
        assert report["result"] == {"accuracy": 0.25}, report
        assert report["exit_code"] == 0, report
    if name == "pwrite_result_fd":
        # The script's own os._exit(0) after the denial: the record, not the exit status,
        # decides.
        assert report["exit_code"] == 0, report
    elif status != "succeeded":
        assert report["exit_code"] != 0, report
