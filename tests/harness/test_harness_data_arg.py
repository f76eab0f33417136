"""`data` in the harness: a dataset the evaluation did not name is a clear error, not a
bare KeyError, and `data=None` keeps its default when no dataset is named."""

from __future__ import annotations

import pytest

from .conftest import RunHarness


@pytest.mark.parametrize("script", [
    # The reported case: a script that reads data, submitted without --dataset.
    "def evaluate_model(model, data):\n    return {'n': len(data['quiz'])}\n",
    # The same read with a key the submit-time check cannot see.
    "NAME = 'qu' + 'iz'\n\ndef evaluate_model(model, data):\n"
    "    return {'n': len(data[NAME])}\n",
])
def test_an_unnamed_dataset_says_how_to_name_it(run_harness: RunHarness, script: str) -> None:
    run = run_harness(script, model_path=None)
    assert run.returncode == 1 and run.result is not None
    error = run.result["error"]
    assert error.startswith("MissingDataset: data['quiz']"), error
    assert "--dataset NAME@VERSION" in error and "no datasets" in error
    assert run.result["error_line"] == script.count("\n")
    assert "KeyError: 'quiz'" not in run.stderr


def test_a_script_may_still_catch_it_as_a_key_error(run_harness: RunHarness) -> None:
    script = ("def evaluate_model(model, data):\n    try:\n        data['quiz']\n"
              "    except KeyError:\n        return {'missing': True}\n")
    run = run_harness(script, model_path=None)
    assert run.result == {"ok": True, "metrics": {"missing": True}}, run.stderr


def test_a_default_stays_when_no_dataset_is_named(run_harness: RunHarness) -> None:
    script = "def evaluate_model(model, data=None):\n    return {'none': data is None}\n"
    run = run_harness(script, model_path=None)
    assert run.result == {"ok": True, "metrics": {"none": True}}, run.stderr
