"""CLI failures with no server, no key or bad input: one clear line, non-zero exit, no traceback.

Each case runs the real `evalpod` command in a subprocess, as a user would.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.stack import free_port

CLI = [sys.executable, "-c", "from evalpod.cli import main; main()"]
SCRIPT = "def evaluate_model(model):\n    return {'accuracy': 1.0}\n"


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EVALPOD_")}
    return clean | {"EVALPOD_HOME": str(tmp_path / "home"),
                    "EVALPOD_URL": f"http://127.0.0.1:{free_port()}",
                    "EVALPOD_API_KEY": "ep_test"}


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "eval.py"
    path.write_text(SCRIPT)
    return path


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return lines[0]


@pytest.mark.parametrize("command", [
    ["submit", "{script}", "--model", "tiny-gpt2"],
    ["submit", "{script}", "--model", "tiny-gpt2", "--follow"],
    ["status", "ev_1"],
    ["status", "ev_1", "--json"],
    ["logs", "ev_1"],
    ["logs", "ev_1", "--follow"],
    ["cancel", "ev_1"],
    ["list"],
    ["validate", "{script}"],
    ["models", "list"],
    ["tenant", "show"],
    ["lm-eval", "tasks"],
    ["submit", "--lm-eval", "arith", "--model", "tiny-gpt2"],
], ids=lambda c: " ".join(c).replace("{script}", "FILE"))
def test_an_absent_server_is_one_line_saying_where_and_what_to_run(
    env: dict[str, str], script: Path, command: list[str]
) -> None:
    result = run_cli(env, *[str(script) if a == "{script}" else a for a in command])
    line = one_error_line(result)
    assert f"cannot reach the evalpod API at {env['EVALPOD_URL']} (connection refused)" in line
    assert "`evalpod up`" in line and "EVALPOD_URL" in line
    assert result.stdout == ""


def test_no_key_anywhere_says_how_to_get_one(env: dict[str, str]) -> None:
    del env["EVALPOD_API_KEY"]
    line = one_error_line(run_cli(env, "status", "ev_1"))
    assert "EVALPOD_API_KEY" in line and "admin.key" in line and "keys create" in line


def test_a_missing_script_file_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    line = one_error_line(run_cli(env, "submit", str(tmp_path / "nope.py"), "--model", "m"))
    assert "nope.py: no such file" in line
    binary = tmp_path / "weights.py"
    binary.write_bytes(b"\xff\xfe\x00junk")
    assert "not UTF-8" in one_error_line(run_cli(env, "validate", str(binary)))


def test_usage_errors_exit_2_without_a_traceback(env: dict[str, str], script: Path) -> None:
    for args in (["submit", str(script), "--model", "m", "--tag", "novalue"],
                 ["submit", "--model", "m"]):
        result = run_cli(env, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_help_has_no_type_noise(env: dict[str, str]) -> None:
    for command in (["submit"], ["logs"], ["list"], ["validate"], ["keys", "create"],
                    ["keys", "list"], ["tenant", "rotate-secret"], ["models", "list"],
                    ["sandbox", "run"]):
        result = run_cli(env | {"COLUMNS": "100"}, *command, "--help")
        assert result.returncode == 0, result.stderr
        assert not re.search(r"\{\w+\}|<(int|str|bool|float|file|path|text)>", result.stdout), \
            (command, result.stdout)
    assert "Usage: evalpod submit [OPTIONS] [FILE]" in run_cli(env, "submit", "--help").stdout


def test_shell_completion_completes_commands(env: dict[str, str]) -> None:
    script = Path(sys.executable).parent / "evalpod"
    if not script.exists():
        pytest.skip("the evalpod console script is not installed next to this interpreter")
    result = subprocess.run(
        [str(script)], capture_output=True, text=True, timeout=60,
        env=env | {"_EVALPOD_COMPLETE": "complete_bash", "COMP_WORDS": "evalpod ten",
                   "COMP_CWORD": "1"})
    assert result.returncode == 0, result.stderr
    assert "tenant" in result.stdout.split()


def test_outcome_after_follow_counts_informational_findings(
        capsys: pytest.CaptureFixture[str]) -> None:
    """After a follow, bandit's `info` notes (which stopped nothing) are counted, not
    printed under the result; `evalpod status` still lists them."""
    from evalpod.cli.client_cmds import _print_outcome
    from evalpod.sdk.models import Evaluation, Finding

    record = Evaluation.model_construct(
        evaluation_id="ev_x", status="succeeded", result={"accuracy": 1.0}, violation=None,
        error=None, findings=[
            Finding(rule="B311", severity="info", message="pseudo-random generator", line=3),
            Finding(rule="EP900", severity="warning", message="slow", line=4)])
    _print_outcome(record, notes=False)
    after_follow = capsys.readouterr().out
    assert "B311" not in after_follow and "EP900" in after_follow
    assert "(1 informational finding: evalpod status ev_x)" in after_follow
    _print_outcome(record)
    assert "B311" in capsys.readouterr().out


def test_api_errors_say_each_thing_once() -> None:
    """The new user's two repeats: a forbidden construct quoted in the message and again as
    the finding; a field named in the message and again as its prefix."""
    from evalpod.cli.output import describe
    from evalpod.sdk.errors import ApiError

    forbidden = ApiError(400, "script uses a forbidden construct: import of denied module "
                         "`subprocess`", code="FORBIDDEN_PATTERN", detail={"findings": [
                             {"rule": "EP102", "message": "import of denied module `subprocess`",
                              "line": 1, "column": 1}]})
    text = describe(forbidden)
    assert text.count("import of denied module") == 1, text
    assert text.startswith("script uses a forbidden construct: line 1:1 EP102 "), text
    field = ApiError(422, "invalid request", code="INVALID_CONFIG", detail={"errors": [
        {"field": "query.status", "message": "query.status: Input should be 'succeeded'"}]})
    assert describe(field).count("query.status") == 1, describe(field)


@pytest.mark.parametrize("detail", [
    # The new user's case: the one field error is the message again, under its field.
    {"line": 1, "errors": [{"field": "datasets", "message":
                            "`evaluate_model(model, data)` needs datasets, but this "
                            "submission names none"}]},
    {"errors": [{"field": "datasets", "message":
                 "datasets: `evaluate_model(model, data)` needs datasets, but this "
                 "submission names none."}]},
    {"findings": [{"rule": "EP900", "line": 1, "message":
                   "`evaluate_model(model, data)` needs  datasets, but this submission "
                   "names none"}]},
])
def test_a_detail_entry_that_repeats_the_message_is_not_repeated(
        detail: dict[str, object]) -> None:
    from evalpod.cli.output import describe
    from evalpod.sdk.errors import ApiError

    error = ApiError(400, "`evaluate_model(model, data)` needs datasets, but this submission "
                     "names none", code="INVALID_CONFIG", detail=detail)
    text = describe(error)
    assert text.count("names none") == 1, text
    assert text.endswith("[INVALID_CONFIG]"), text


def test_detail_entries_that_say_more_are_kept() -> None:
    from evalpod.cli.output import describe
    from evalpod.sdk.errors import ApiError

    error = ApiError(422, "invalid request", code="INVALID_CONFIG", detail={"errors": [
        {"field": "config.timeout_s", "message": "Input should be greater than 0"},
        {"field": "datasets", "message": "invalid request"}]})
    text = describe(error)
    assert "config.timeout_s: Input should be greater than 0" in text, text
    assert text.count("invalid request") == 1, text
