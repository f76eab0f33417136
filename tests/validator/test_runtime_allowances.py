"""What the static policy now allows (logging, `print(..., file=sys.stderr)`, typing's
generics) also runs in a real sandbox with the runtime guard armed: static analysis clears
the script, then `evalpod sandbox run --json` (no model: the stub) must end `succeeded`
with no violation and the log lines in the job's output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from validator.analysis import analyse_script

ROOT = Path(__file__).resolve().parents[2]
CLI = "from evalpod.cli import main; main()"
TIMEOUT_S = 120

SCRIPT = '''
import logging
import sys

logger = logging.getLogger(__name__)


class Scorer:
    log = logging.getLogger("eval.scorer")

    def score(self, values):
        self.log.debug("scoring %d values", len(values))
        return sum(values) / len(values)


def evaluate_model(model):
    logging.basicConfig(level=logging.DEBUG, format="%(levelname)s|%(name)s|%(message)s")
    logger.info("info line %d", 1)
    logger.warning("warning line")
    logging.getLogger("eval.other").error("error line")
    logger.info("with its stack", stack_info=True)
    try:
        {}["missing"]
    except KeyError:
        logger.exception("handled lookup")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("{levelname}:{message}", style="{"))
    extra = logging.getLogger("eval.extra")
    extra.addHandler(handler)
    extra.propagate = False
    extra.warning("brace style")
    print("plain stderr line", file=sys.stderr)
    print("plain stdout line", file=sys.stdout, flush=True)
    sys.stderr.write("written to stderr\\n")
    sys.stderr.flush()
    return {"mean": Scorer().score([1.0, 2.0, 3.0]), "py": sys.version_info[0]}
'''

EXPECTED_LINES = (
    "INFO|evaluation|info line 1",
    "WARNING|evaluation|warning line",
    "ERROR|eval.other|error line",
    "DEBUG|eval.scorer|scoring 3 values",
    "ERROR|evaluation|handled lookup",
    "KeyError: 'missing'",
    "Stack (most recent call last):",
    "WARNING:brace style",
    "plain stderr line",
    "plain stdout line",
    "written to stderr",
)


TYPING = """
import enum
from typing import Generic, NamedTuple, NewType, ParamSpec, Protocol, TypedDict, TypeVar

T = TypeVar("T")
P = ParamSpec("P")
UserId = NewType("UserId", int)
Row = NamedTuple("Row", [("name", str), ("score", float)])
Scores = TypedDict("Scores", {"acc": float})
Color = enum.Enum("Color", "RED GREEN")


class Box(Generic[T]):
    def __init__(self, item: T) -> None:
        self.item = item


class Scorer(Protocol):
    def score(self) -> float: ...


def evaluate_model(model):
    scores: Scores = {"acc": 0.5}
    row = Row("a", scores["acc"])
    return {"box": Box(UserId(3)).item, "row": row.score, "color": Color.GREEN.name}
"""


def sandbox_run(tmp_path: Path, source: str) -> dict[str, object]:
    report = analyse_script(source, budget_s=30.0)
    assert not report.blocked, [f.model_dump() for f in report.findings]
    script = tmp_path / "evaluation_script.py"
    script.write_text(source, encoding="utf-8")
    argv = [sys.executable, "-c", CLI, "sandbox", "run", str(script), "--json",
            "--timeout", str(TIMEOUT_S), "--memory-mb", "2048"]
    env = {**os.environ, "EVALPOD_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=TIMEOUT_S + 60)
    run: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return run


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
def test_typing_generics_and_functional_enums_run_under_the_guard(tmp_path: Path) -> None:
    """TypeVar & co. read their caller's module name through `sys._getframe` (typing's
    `_caller`, enum's `_create_`); the guard allows exactly that, right under the script."""
    run = sandbox_run(tmp_path, TYPING)
    assert run["status"] == "succeeded", run
    assert run["result"] == {"box": 3, "row": 0.5, "color": "GREEN"}, run


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
def test_logging_and_stderr_run_under_the_guard(tmp_path: Path) -> None:
    run = sandbox_run(tmp_path, SCRIPT)
    assert run["status"] == "succeeded", run
    assert run["violation"] is None, run
    assert run["result"] == {"mean": 2.0, "py": 3}, run
    output = str(run["stdout_tail"])
    missing = [line for line in EXPECTED_LINES if line not in output]
    assert not missing, output
    assert "runtime guard armed" in output
