"""What a new user found rough in the CLI, each as its class: one default model for submit
and validate, headed tables that never cut a name, violations printed alike, Ctrl-C of
every long-running command exits 130, percentages rounded (not floored), whole counts."""

from __future__ import annotations

import io
import signal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from evalpod.cli import app, client_cmds, dataset_cmds, sandbox_cmds
from evalpod.cli.output import cut_words
from evalpod.cli.progress import LogPrinter
from evalpod.logs.progress import Progress, describe, parse_progress_data, percent
from evalpod.sdk.models import LogEvent, TaskInfo

runner = CliRunner()


# -- submit and validate: the same default model --------------------------------------------

def test_submit_and_validate_default_to_the_model_evalpod_up_registers() -> None:
    from evalpod.registry import TINY_MODEL_ID

    assert client_cmds.DEFAULT_MODEL == TINY_MODEL_ID
    for command in ("submit", "validate"):
        shown = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"}).output
        assert f"[default: {TINY_MODEL_ID}]" in shown, (command, shown)


def test_submit_without_model_is_not_a_usage_error(tmp_path: Any, monkeypatch: Any) -> None:
    script = tmp_path / "eval.py"
    script.write_text("def evaluate_model(model):\n    return {}\n")
    sent: dict[str, Any] = {}

    class Accepted:
        evaluation_id, status, queue_position = "ev_1", "pending_validation", 1

    class Fake:
        def submit(self, script: str, **kwargs: Any) -> Accepted:
            sent.update(kwargs)
            return Accepted()

    monkeypatch.setattr(client_cmds, "connect", lambda **_: Fake())
    result = runner.invoke(app, ["submit", str(script)])
    assert result.exit_code == 0, result.output
    assert sent["model"] == "tiny-gpt2"


# -- tables -----------------------------------------------------------------------------------

def test_datasets_list_has_headers_and_names_versions_as_dataset_takes_them(
        monkeypatch: Any) -> None:
    page = {"total": 1, "next_cursor": None, "items": [
        {"name": "quiz", "modality": "text", "versions": [
            {"id": "dv_1", "version": "1", "status": "ready", "row_count": 2}]}]}
    monkeypatch.setattr(dataset_cmds, "_call", lambda *_a, **_k: page)
    result = runner.invoke(app, ["datasets", "list"])
    assert result.exit_code == 0, result.output
    header, row = result.output.splitlines()
    assert header.split()[:2] == ["DATASET", "MODALITY"]
    assert "quiz@1 (ready, 2 rows)" in row


def test_benchmarks_list_names_dataset_versions_not_their_ids(monkeypatch: Any) -> None:
    benchmarks = [{"name": "qa", "version": 1, "kind": "script", "primary_metric": "acc",
                   "direction": "higher", "dataset_versions": ["dv_1", "dv_gone"],
                   "id": "bm_1"}]
    datasets = {"total": 1, "next_cursor": None, "items": [
        {"name": "quiz", "modality": "text", "versions": [{"id": "dv_1", "version": "3"}]}]}
    monkeypatch.setattr(dataset_cmds, "_call",
                        lambda _m, path, **_k: benchmarks if path == "/benchmarks" else datasets)
    result = runner.invoke(app, ["benchmarks", "list"])
    assert result.exit_code == 0, result.output
    assert "quiz@3, dv_gone" in result.output  # one this key cannot see keeps its id
    assert "dv_1" not in result.output


LONG_NAME = "mmlu_high_school_macroeconomics_with_an_unusually_long_task_name_v2"


def test_lm_eval_tasks_never_cut_a_name(monkeypatch: Any) -> None:
    description = "A very long description " * 10

    class Fake:
        def lm_eval_tasks(self) -> list[TaskInfo]:
            return [TaskInfo(name=LONG_NAME, output_type="multiple_choice",
                             description=description, num_rows=20, source="shipped")]

    monkeypatch.setattr(client_cmds, "connect", lambda **_: Fake())
    result = runner.invoke(app, ["lm-eval", "tasks"])
    assert result.exit_code == 0, result.output
    assert LONG_NAME in result.output
    assert description.strip() in result.output  # not a terminal: nothing is cut


@pytest.mark.parametrize(("text", "width", "expected"), [
    ("short", 40, "short"),
    ("multiple choice over the high school syllabus", 30, "multiple choice over the high…"),
    ("averyveryveryveryverylongwordwithoutspaces", 25, "averyveryveryveryverylon…"),
])
def test_free_text_is_cut_after_a_whole_word(text: str, width: int, expected: str) -> None:
    assert cut_words(text, width) == expected
    assert len(cut_words(text, width)) <= width


def test_sandbox_run_prints_a_violation_as_the_other_commands_do(
        tmp_path: Any, monkeypatch: Any) -> None:
    script = tmp_path / "eval.py"
    script.write_text("def evaluate_model(model):\n    return {}\n")

    async def killed(*_a: Any, **_k: Any) -> dict[str, object]:
        return {"status": "killed", "result": None, "error": None, "exit_code": None,
                "duration_s": 1.0, "stdout_tail": "",
                "violation": {"kind": "policy", "detail": "open of /etc/passwd denied",
                              "line": 3, "target": "/etc/passwd"}}

    monkeypatch.setattr(sandbox_cmds, "_run_script", killed)
    result = runner.invoke(app, ["sandbox", "run", str(script)])
    assert result.exit_code == 1
    assert "violation: policy: open of /etc/passwd denied (line 3)" in result.output
    assert "{'kind'" not in result.output


# -- Ctrl-C of the long-running service commands ----------------------------------------------

@pytest.mark.parametrize("command", ["api", "validator", "orchestrator", "monitor"])
@pytest.mark.parametrize(("stopped_by", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 0)])
def test_ctrl_c_of_a_service_command_exits_130_with_one_line(
        monkeypatch: Any, command: str, stopped_by: signal.Signals, code: int) -> None:
    import evalpod.runner

    async def stopped(_components: Any) -> signal.Signals:
        return stopped_by

    monkeypatch.setattr(evalpod.runner, "run_components", stopped)
    monkeypatch.setattr(evalpod.runner, "configure_logging", lambda: None)
    result = runner.invoke(app, [command])
    assert result.exit_code == code, result.output
    expected = [f"evalpod {command} stopped (interrupted)"] if code else []
    assert result.output.splitlines() == expected


# -- progress: percentages rounded, counts whole ----------------------------------------------

@pytest.mark.parametrize(("fraction", "shown"), [
    (0.999, "99.9%"), (0.994, "99%"), (0.996, "99.6%"), (0.3, "30%"), (0.297, "30%"),
    (0.125, "13%"), (0.0004, "0.1%"), (0.0, "0%"), (1.0, "100%")])
def test_percentages_are_rounded_and_never_claim_done_or_nothing(
        fraction: float, shown: str) -> None:
    assert percent(fraction) == shown


def test_the_plain_progress_line_and_the_live_bar_round() -> None:
    report = Progress(done=999, total=1000, description="rows")
    assert "999/1,000 (99.9%)" in describe(report)
    with LogPrinter(io.StringIO(), live=True) as printer:
        printer.progress(report)
        [task] = printer._tasks.values()
        assert task.fields["percent"] == "99.9%"


def test_sdk_progress_counts_are_integers() -> None:
    event = LogEvent(event="progress", id="1-0",
                     data='{"done": 3.0, "total": 10.0, "rate": 2.5, "bar": 0}')
    progress = event.progress()
    assert progress is not None
    assert type(progress.done) is int and type(progress.total) is int
    assert progress.rate == 2.5
    half = parse_progress_data('{"done": 1.5, "total": 4}')
    assert half is not None and half.done == 1.5


def test_ctrl_c_of_sandbox_run_stops_the_job_and_exits_130(tmp_path: Any) -> None:
    import os
    import subprocess
    import sys

    script = tmp_path / "slow.py"
    script.write_text("import time\n\ndef evaluate_model(model):\n"
                      "    for i in range(600):\n        print('tick', i, flush=True)\n"
                      "        time.sleep(0.1)\n    return {}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALPOD_")}
    env["EVALPOD_HOME"] = str(tmp_path / "home")
    process = subprocess.Popen(
        [sys.executable, "-c", "from evalpod.cli import main; main()", "sandbox", "run",
         str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = "-"
    while line and not line.startswith("tick"):  # the script itself runs now
        line = process.stdout.readline()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert line.startswith("tick"), stderr
    assert process.returncode == 130, stderr
    assert stderr.splitlines()[-2:] == ["status: cancelled", "interrupted"], stderr


@pytest.mark.parametrize(("parameters", "config", "about"), [
    (124_000, {"architectures": ["GPT2LMHeadModel"]}, " (GPT2LMHeadModel, 0.1M parameters)"),
    (7_240_000_000, {"architectures": ["LlamaForCausalLM"]},
     " (LlamaForCausalLM, 7.2B parameters)"),
    (None, {"model_type": "gpt2"}, " (gpt2)"),  # no architectures: the family
    (None, None, ""),  # no config.json at all
])
def test_models_add_says_what_it_registered(tmp_path: Path, parameters: int | None,
                                            config: dict[str, object] | None,
                                            about: str) -> None:
    import json

    from evalpod.cli.models_cmds import Registered, registered_line

    if config is not None:
        (tmp_path / "config.json").write_text(json.dumps(config))
    family = config.get("model_type") if config else None
    model = Registered(id="tiny-gpt2-b", parameters=parameters,
                       family=family if isinstance(family, str) else None)
    assert registered_line(model, tmp_path) == (
        f"registered model tiny-gpt2-b{about}; evaluate it: evalpod submit SCRIPT "
        "--model tiny-gpt2-b")
