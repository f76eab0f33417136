"""How the harness runs a script: as a real module, compiled on its own terms, failing
with the script's own traceback, and reporting every failure to write its result."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestrator.local.result_file import read_result
from orchestrator.sandbox import ResultRejected

from .conftest import RunHarness

ANNOTATED_DATACLASS = '''
from dataclasses import dataclass, field
import typing


@dataclass
class Row:
    question: str
    answer: str | None = None
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Score:
    name: str
    value: float


def evaluate_model(model):
    rows = [Row("q1", "a"), Row("q2")]
    hints = typing.get_type_hints(Row)
    return {
        "n": len(rows),
        "hint": str(hints["answer"]),
        "module": Row.__module__,
        "score": Score("acc", 0.5).value,
        "division": 7 / 2,
    }
'''

NESTED_FAILURE = '''
def parse(text):
    return int(text)


def evaluate_model(model):
    values = [parse(t) for t in ["1", "2", "three"]]
    return {"n": len(values)}
'''


def test_annotated_dataclass_in_a_script_works(run_harness: RunHarness) -> None:
    """dont_inherit: the harness's `from __future__ import annotations` stays out (were it
    inherited, get_type_hints would have to compile the annotations as text, which the
    guard denies), and the script's module is in sys.modules for dataclasses."""
    run = run_harness(ANNOTATED_DATACLASS, model_path=None)
    assert run.returncode == 0, run.stderr
    assert run.result is not None
    metrics = run.result["metrics"]
    assert metrics["n"] == 2 and metrics["score"] == 0.5 and metrics["division"] == 3.5
    assert metrics["module"] == "evaluation"
    assert metrics["hint"] in ("str | None", "typing.Optional[str]")


def test_future_import_of_the_harness_does_not_leak(run_harness: RunHarness) -> None:
    script = (
        "def f(x: int) -> int: ...\n"
        "def evaluate_model(model):\n"
        "    return {'a': str(f.__annotations__['x'])}\n"
    )
    run = run_harness(script, model_path=None)
    assert run.result is not None and run.result["metrics"] == {"a": "<class 'int'>"}


def test_traceback_shows_only_the_scripts_frames_and_lines(run_harness: RunHarness) -> None:
    run = run_harness(NESTED_FAILURE, model_path=None)
    assert run.returncode == 1
    assert run.result is not None and run.result["error_type"] == "ValueError"
    assert run.result["error_line"] == 3
    text = run.stderr
    assert 'File "evaluation.py", line 7, in evaluate_model' in text
    assert 'File "evaluation.py", line 3, in parse' in text
    assert "return int(text)" in text  # the source line, from the script itself
    assert "run.py" not in text and "harness" not in text.replace("[evalpod]", "")
    assert "ValueError: invalid literal for int() with base 10: 'three'" in text


def test_syntax_error_points_at_the_script(run_harness: RunHarness) -> None:
    run = run_harness("def evaluate_model(model):\n    return {\n", model_path=None)
    assert run.returncode == 1
    assert run.result is not None and run.result["error_type"] == "SyntaxError"
    assert run.result["error_line"] is not None
    assert "run.py" not in run.stderr


def test_error_while_serialising_is_reported_as_such(run_harness: RunHarness) -> None:
    """#12.13: a ValueError raised while the result is written is the job's error."""
    run = run_harness("def evaluate_model(model):\n    return {'big': 10 ** 5000}\n",
                      model_path=None)
    assert run.returncode == 1
    assert run.result is not None and run.result["ok"] is False
    assert run.result["error_type"] == "ValueError"
    assert "while writing the result" in run.result["error"]
    assert "digits" in run.result["error"]


def test_subclasses_are_written_through_their_base_type(run_harness: RunHarness) -> None:
    script = '''
class Sneaky(float):
    def __repr__(self):
        return "NaN"

class Key(str):
    def __str__(self):
        raise ValueError("no")

def evaluate_model(model):
    return {Key("k"): Sneaky(0.25), "inf": Sneaky("inf")}
'''
    run = run_harness(script, model_path=None)
    assert run.returncode == 0, run.stderr
    assert run.result == {"ok": True, "metrics": {"k": 0.25, "inf": None}}


def test_host_rejects_nan_in_a_result_file(tmp_path: Path) -> None:
    """#12.13: NaN is never accepted (and so never printed) as JSON."""
    (tmp_path / "result.json").write_text('{"ok": true, "metrics": {"x": NaN}}')
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with pytest.raises(ResultRejected, match="NaN"):
            read_result(fd, 1024)
    finally:
        os.close(fd)
