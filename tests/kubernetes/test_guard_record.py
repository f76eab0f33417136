"""The Kubernetes reader folds in the runtime guard's record as the local one does
(attack2 F1 c+d): the entrypoint prints it beside the result on the marker line, and an
emptied, cut or added-to record is a denial, never a success."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.kubernetes.logs import parse_result
from orchestrator.kubernetes.manifests import entrypoint_script
from orchestrator.sandbox import HarnessSpec

HARNESS = Path(__file__).resolve().parents[2] / "sandbox_images" / "harness" / "run.py"

HEADER = b'{"evalpod_guard_record": 1, "nonce": "' + b"0" * 32 + b'"}\n'
DENIAL = b'{"event": "open", "detail": "open denied", "line": 9, "target": "/job/spec.json"}\n'
GOOD = json.dumps({"ok": True, "metrics": {"accuracy": 0.999}}).encode()


def line(result: bytes, record: bytes | None) -> bytes:
    text = b"EVALPOD_RESULT " + base64.b64encode(result)
    if record is not None:
        text += b" " + base64.b64encode(record)
    return b"noise\n" + text + b"\n"


def _run_entrypoint(tmp_path: Path, source: str) -> subprocess.CompletedProcess[bytes]:
    """The pod's real entrypoint around the real harness, run locally, record included."""
    script = tmp_path / "script.py"
    script.write_text(source)
    spec = HarnessSpec(
        kind="script",
        script_path=str(script),
        result_path=str(tmp_path / "result.json"),
        model_path=None,
    )
    (tmp_path / "spec.json").write_text(spec.model_dump_json())
    command = entrypoint_script(
        1024,
        harness=str(HARNESS),
        spec=str(tmp_path / "spec.json"),
        result=str(tmp_path / "result.json"),
        record=str(tmp_path / "violation.json"),
    ).replace("python -I", f"{sys.executable} -I", 1)
    return subprocess.run(["/bin/sh", "-c", command], capture_output=True, timeout=60)


@pytest.mark.parametrize(
    ("result", "record", "detail"),
    [
        (GOOD, None, None),  # an unguarded job: no record
        (GOOD, HEADER, None),
        (GOOD, HEADER + DENIAL, "open denied"),
        (GOOD, b"", "runtime guard record tampered"),  # the reported truncate(0)
        (GOOD, DENIAL, "runtime guard record tampered"),
        (GOOD, HEADER + b"x\n", "runtime guard record malformed"),
        (b"", HEADER + DENIAL, "open denied"),  # the script exited before the result
    ],
)
def test_the_record_on_the_marker_line_is_folded_in(
    result: bytes, record: bytes | None, detail: str | None
) -> None:
    parsed = parse_result(line(result, record), 1024)
    if detail is None:
        assert parsed.ok and parsed.violation is None
    else:
        assert not parsed.ok and parsed.metrics is None
        assert parsed.violation is not None and parsed.violation.detail == detail


def test_the_entrypoint_carries_a_denial_the_script_exited_past(tmp_path: Path) -> None:
    source = (
        "import os\n"
        "def evaluate_model(model):\n"
        "    try:\n"
        "        os.system('true')\n"
        "    except PermissionError:\n"
        "        pass\n"
        '    os.write(4, b\'{"ok": true, "metrics": {"accuracy": 0.999}}\')\n'
        "    os._exit(0)\n"
    )
    done = _run_entrypoint(tmp_path, source)
    parsed = parse_result(done.stdout, 1024)
    assert not parsed.ok and parsed.violation is not None, done.stdout
    assert parsed.violation.detail == "os.system denied"


def test_the_entrypoint_carries_a_record_added_to(tmp_path: Path) -> None:
    source = (
        "import os\ndef raw_write():\n"
        "    import io\n"
        "    opener = lambda path, flags: 3\n"
        "    return io.FileIO('/tmp/other', 'ab', opener=opener).write\n"
        "def evaluate_model(model):\n    raw_write()(b'{}\\n')\n    return {'a': 1}\n"
    )
    done = _run_entrypoint(tmp_path, source)
    parsed = parse_result(done.stdout, 1024)
    assert not parsed.ok and parsed.violation is not None, done.stdout
    assert parsed.violation.detail in (
        "runtime guard record tampered",
        "runtime guard record malformed",
    )
    assert done.returncode == 86
