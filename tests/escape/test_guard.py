"""The runtime guard in a real sandbox (`evalpod sandbox run --json`): every class of
operation it denies, and the hostile examples of issue #11, run straight in the sandbox
with no static analysis in front. Each script's docstring ends with `expect: <event>`.

Each must end `killed` with a `policy` violation naming that event and the script line,
whatever the script did after the denial (caught it, returned metrics, exited at once).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = Path(__file__).parent / "guard_scripts"
CLI = "from evalpod.cli import main; main()"
# Scripts that import torch after the guard is armed need the time of that import.
TIMEOUT_S = 120


def expected_event(script: Path) -> str:
    found = re.search(r"^expect: (\S+?)\"*$", script.read_text(), re.MULTILINE)
    assert found, f"{script.name} has no 'expect: <event>' line"
    return found.group(1)


def sandbox_run(script: Path, home: Path, *extra: str) -> dict[str, object]:
    argv = [sys.executable, "-c", CLI, "sandbox", "run", str(script), "--json",
            "--timeout", str(TIMEOUT_S), "--memory-mb", "2048", *extra]
    env = {**os.environ, "EVALPOD_HOME": str(home), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=TIMEOUT_S + 60)
    report: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


@pytest.mark.parametrize("name", sorted(p.stem for p in SCRIPTS.glob("*.py")))
def test_guard_stops(name: str, tmp_path: Path) -> None:
    script = SCRIPTS / f"{name}.py"
    report = sandbox_run(script, tmp_path)
    violation = report["violation"]
    assert report["status"] == "killed", report
    assert isinstance(violation, dict), report
    assert violation["kind"] == "policy", report
    assert violation["detail"] == f"{expected_event(script)} denied", report
    assert isinstance(violation["line"], int) and violation["line"] > 0, report
    assert report["result"] is None, report


def test_without_guard_the_script_runs(tmp_path: Path) -> None:
    """`--no-guard` really leaves it unarmed (what the escape suite's no-guard half relies on)."""
    report = sandbox_run(SCRIPTS / "eval_string.py", tmp_path, "--no-guard")
    assert report["status"] == "succeeded", report
    assert report["result"] == {"x": 42}


def test_every_script_names_its_event() -> None:
    names = sorted(SCRIPTS.glob("*.py"))
    assert len(names) >= 25
    for script in names:
        expected_event(script)


def test_signal_handlers_never_run_inside_the_hook(tmp_path: Path) -> None:
    """A handler due while the hook looks at the stack (where `sys._getframe` is the
    guard's own) runs after the hook returns: it gets no frame, whatever the timing."""
    report = sandbox_run(SCRIPTS / "signal_race_getframe.py", tmp_path)
    tail = str(report["stdout_tail"])
    assert "signal race: 0 frames leaked" in tail, tail[-2000:]
    assert report["status"] == "killed", report
