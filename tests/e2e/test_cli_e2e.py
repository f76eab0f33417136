"""The `evalpod` CLI as a subprocess against a running stack: what people see.

API failures are one line with the server's detail and hint; `logs` is a real SSE client
(a printed fake end event or a form feed changes nothing) and its final status comes from
the record; Ctrl-C on --follow leaves the job running and says how to come back.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest

from tests.e2e.processes import alive, descendants
from tests.stack import Stack, free_port

CLI = [sys.executable, "-c", "from evalpod.cli import main; main()"]
REAL_RUN = "model.model.config.n_embd == 96"  # tiny-gpt2; the trial's shadow is 64 wide
GOOD = "def evaluate_model(model):\n    return {'accuracy': 1.0}\n"
TRICKY = f'''
def evaluate_model(model):
    print("event: end")
    print("data: succeeded")
    print()
    print("id: 99999999999999-0")
    print("before\\x0cafter-ff")
    print("before\\x85after-nel")
    print("before\\u2028after-ls")
    print("still running")
    if {REAL_RUN}:
        raise RuntimeError("the real failure")
    return {{"ok": 1}}
'''
SLOW = f'''
import time

def evaluate_model(model):
    for i in range(300 if {REAL_RUN} else 1):
        print("tick", i, flush=True)
        time.sleep(0.2)
    return {{"done": 1}}
'''

PHASES = f'''
def evaluate_model(model):
    print("phase-line", "run" if {REAL_RUN} else "trial", flush=True)
    return {{"ok": 1}}
'''

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def env(stack: Stack, tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EVALPOD_")}
    return clean | {"EVALPOD_URL": stack.url, "EVALPOD_API_KEY": stack.key,
                    "EVALPOD_HOME": str(tmp_path / "home"),
                    "EVALPOD_DATABASE_URL": stack.settings.database_dsn()}


@pytest.fixture
def cli(env: dict[str, str]) -> Run:
    async_env = env

    def run(*args: str, **overrides: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, *args], env=async_env | overrides, capture_output=True,
                              text=True, timeout=240)

    return run


async def _cli(cli: Run, *args: str, **overrides: str) -> subprocess.CompletedProcess[str]:
    # The stack serves from this event loop: run the CLI beside it, not blocking it.
    return await asyncio.to_thread(cli, *args, **overrides)


def _script(tmp_path: Path, text: str, name: str = "eval.py") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _read_until(stream: IO[str], wanted: Callable[[str], bool]) -> list[str]:
    """Lines of `stream` up to and including the first `wanted` one (all, if it ends)."""
    lines = []
    for line in stream:
        lines.append(line)
        if wanted(line):
            break
    return lines


def _error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


async def test_api_errors_are_one_line_with_detail_and_hint(
    stack: Stack, cli: Run, tmp_path: Path
) -> None:
    syntax = _error_line(await _cli(cli, "submit", _script(
        tmp_path, "def evaluate_model(model):\n    return {\n"), "--model", "tiny-gpt2"))
    assert "INVALID_SCRIPT" in syntax and "line 2, column" in syntax and "hint:" in syntax
    missing = _error_line(await _cli(cli, "submit", _script(tmp_path, "x = 1\n"), "--model",
                                     "tiny-gpt2"))
    assert "no usable evaluate_model" in missing and "EP010" in missing
    assert "forbidden" not in missing.lower().replace("forbidden_pattern", "")
    gpus = _error_line(await _cli(cli, "submit", _script(tmp_path, GOOD), "--model",
                                  "tiny-gpt2", "--gpus", "16"))
    assert "config.gpus: this host has" in gpus and "asked for 16" in gpus
    field = _error_line(await _cli(cli, "submit", _script(tmp_path, GOOD), "--model",
                                   "tiny-gpt2", "--timeout", "0"))
    assert "config.timeout_s" in field and "INVALID_CONFIG" in field
    model = _error_line(await _cli(cli, "submit", _script(tmp_path, GOOD), "--model", "nope"))
    assert "MODEL_NOT_FOUND" in model and "hint:" in model
    unknown = _error_line(await _cli(cli, "status", "ev_" + "0" * 32))
    assert "JOB_NOT_FOUND" in unknown
    denied = _error_line(await _cli(cli, "list", EVALPOD_API_KEY="ep_wrong"))
    assert "UNAUTHORIZED" in denied and "keys create" in denied
    assert await stack.count_evaluations() >= 0  # nothing above was stored (checked by API)


async def test_logs_is_an_sse_client_and_the_outcome_comes_from_the_record(
    stack: Stack, cli: Run, tmp_path: Path
) -> None:
    followed = await _cli(cli, "submit", _script(tmp_path, TRICKY), "--model", "tiny-gpt2",
                          "--follow")
    assert followed.returncode == 1, followed.stdout + followed.stderr
    evaluation_id = followed.stderr.split()[1]
    # Failed in the real run, or earlier when a loaded machine starves the trial: either
    # way not succeeded, and the lines it printed (trial and run alike) are all shown.
    final = (await stack.http.get(f"/evaluations/{evaluation_id}")).json()["status"]
    assert final in {"failed", "validation_failed"}
    for shown in (followed.stdout, (await _cli(cli, "logs", evaluation_id, "--follow")).stdout):
        assert "event: end" in shown and "data: succeeded" in shown
        for text in ("after-ff", "after-nel", "after-ls", "still running"):
            assert text in shown, (text, shown)
        assert f"== {evaluation_id}: {final}" in shown
        assert ": succeeded" not in shown.replace("data: succeeded", "")
    # The form feed, NEL and U+2028 stay inside their line, shown as visible marks.
    assert "before\u240cafter-ff" in followed.stdout
    assert "\x0c" not in followed.stdout and "\u2028" not in followed.stdout
    plain = await _cli(cli, "logs", evaluation_id)
    assert plain.returncode == 0 and "still running" in plain.stdout
    assert plain.stderr.strip() == f"-- {evaluation_id}: {final}"
    status = await _cli(cli, "status", evaluation_id, "--json")
    record = json.loads(status.stdout)  # pure JSON: nothing else on stdout
    assert record["status"] == final and record["evaluation_id"] == evaluation_id


async def test_ctrl_c_on_follow_leaves_the_job_running_and_says_how_to_return(
    stack: Stack, env: dict[str, str], cli: Run, tmp_path: Path
) -> None:
    tag = f"ctrl-c-{os.getpid()}-{id(tmp_path)}"
    process = subprocess.Popen(
        [*CLI, "submit", _script(tmp_path, SLOW), "--model", "tiny-gpt2", "--follow",
         "--timeout", "120", "--tag", f"run={tag}"], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        # Interrupt once the CLI has printed a line of the run: it is streaming the log then,
        # however long the trial and the queue took on this machine.
        assert process.stdout is not None
        seen = await asyncio.wait_for(asyncio.to_thread(
            _read_until, process.stdout, lambda line: line.startswith("| tick ")), timeout=600)
        listed = (await stack.http.get("/evaluations", params={"tag": f"run:{tag}"})).json()
        evaluation_id = listed["items"][0]["evaluation_id"]
        process.send_signal(signal.SIGINT)
        rest, stderr = await asyncio.to_thread(process.communicate, timeout=60)
        stdout = "".join(seen) + rest
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "tick" in stdout
    assert "Traceback" not in stderr
    assert f"{evaluation_id} continues on the server" in stderr
    assert f"evalpod logs {evaluation_id} --follow" in stderr
    assert f"evalpod cancel {evaluation_id}" in stderr
    assert (await stack.http.get(f"/evaluations/{evaluation_id}/status")).json()["status"] \
        == "executing"
    cancelled = await _cli(cli, "cancel", evaluation_id)
    assert cancelled.returncode == 0 and f"{evaluation_id}: cancelled" in cancelled.stdout


async def test_follow_shows_trial_lines_then_statuses_then_run_lines_in_order(
    env: dict[str, str], tmp_path: Path
) -> None:
    # One pipe for stdout and stderr: each line lands where it was printed.
    followed = await asyncio.to_thread(
        subprocess.run, [*CLI, "submit", _script(tmp_path, PHASES), "--model", "tiny-gpt2",
                         "--follow"], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=600)
    lines = followed.stdout.splitlines()
    assert followed.returncode == 0, followed.stdout
    assert lines[0].startswith("submitted ev_") and "(pending_validation" in lines[0]
    trial = lines.index("trial | phase-line trial")
    validated, executing = lines.index("-- validated"), lines.index("-- executing")
    run = lines.index("| phase-line run")
    assert trial < validated < executing < run, lines
    assert lines.count("-- validated") == 1 and lines.count("-- executing") == 1
    assert "-- pending_validation" not in lines  # already said by the submitted line
    assert lines.index(next(x for x in lines if x.startswith("== ev_"))) > run


async def test_follow_stays_within_a_low_rate_limit(
    stack: Stack, env: dict[str, str], tmp_path: Path
) -> None:
    # A key allowed 20 requests a minute: following a job from submit to its end (a trial,
    # a queue, a run: tens of seconds here) must neither be refused nor fail.
    from sqlalchemy import update

    from evalpod.db import get_database
    from evalpod.keys import Role, create_key
    from evalpod.orm import Tenant

    tenant = f"rate-{os.getpid()}-{id(tmp_path)}"
    async with get_database(stack.settings.database_dsn()).session() as session:
        key, plaintext = await create_key(session, tenant, Role.submitter)
        await session.execute(update(Tenant).where(Tenant.id == key.tenant_id)
                              .values(limits={"requests_per_minute": 20}))
    followed = await asyncio.to_thread(
        subprocess.run, [*CLI, "submit", _script(tmp_path, GOOD), "--model", "tiny-gpt2",
                         "--follow", "--json"], env=env | {"EVALPOD_API_KEY": plaintext},
        capture_output=True, text=True, timeout=600)
    assert followed.returncode == 0, followed.stdout + followed.stderr
    assert "RATE_LIMITED" not in followed.stderr
    # --follow --json: the log and statuses on stderr, the final record alone on stdout.
    record = json.loads(followed.stdout)
    assert record["status"] == "succeeded" and record["result"] == {"accuracy": 1.0}
    assert "-- executing" in followed.stderr and "== evalpod: run succeeded" in followed.stderr


async def test_list_tags_json_and_registries(stack: Stack, cli: Run, tmp_path: Path) -> None:
    script = _script(tmp_path, GOOD)
    submitted = await _cli(cli, "submit", script, "--model", "tiny-gpt2", "--tag", "team=nlp",
                           "--tag", "run=cli-e2e")
    assert submitted.returncode == 0, submitted.stderr
    evaluation_id = submitted.stdout.strip()  # only the id on stdout: ID=$(evalpod submit …)
    assert evaluation_id.startswith("ev_")
    listed = json.loads((await _cli(cli, "list", "--tag", "run=cli-e2e", "--json")).stdout)
    assert [e["evaluation_id"] for e in listed] == [evaluation_id]
    assert listed[0]["tags"] == {"team": "nlp", "run": "cli-e2e"}
    table = await _cli(cli, "list", "--tag", "run=cli-e2e")
    assert table.stdout.splitlines()[0].split() == ["ID", "STATUS", "KIND", "MODEL", "CREATED",
                                                    "TAGS"]
    assert evaluation_id in table.stdout and "team=nlp" in table.stdout
    models = json.loads((await _cli(cli, "models", "list", "--json")).stdout)
    assert "tiny-gpt2" in [m["id"] for m in models]
    valid = await _cli(cli, "validate", script)
    assert valid.returncode == 0 and "valid" in valid.stdout
    invalid = await _cli(cli, "validate", _script(tmp_path, "import socket\n" + GOOD, "b.py"))
    assert invalid.returncode == 1 and "line 1" in invalid.stdout
    task = json.loads((await _cli(cli, "lm-eval", "tasks", "--json")).stdout)[0]["name"]
    lm_eval = json.loads((await _cli(cli, "submit", "--lm-eval", task, "--model", "tiny-gpt2",
                                     "--limit", "2", "--json")).stdout)
    record = (await stack.http.get(f"/evaluations/{lm_eval['evaluation_id']}")).json()
    assert (record["kind"], record["tasks"]) == ("lm_eval", [task])
    await stack.http.post(f"/evaluations/{lm_eval['evaluation_id']}/cancel")
    tenant = json.loads((await _cli(cli, "tenant", "show", "--json")).stdout)
    assert tenant["name"] == "acme" and tenant["usage"]["max_live_evaluations"]["limit"] > 0
    await stack.http.post(f"/evaluations/{evaluation_id}/cancel")  # not needed any more


async def test_keys_create_shows_ids_and_secret_once_and_keys_list_finds_them(
    cli: Run,
) -> None:
    tenant = f"cli-{os.getpid()}-{id(cli)}"
    first = await _cli(cli, "keys", "create", "--tenant", tenant)
    assert first.returncode == 0, first.stderr
    key = first.stdout.strip()
    assert key.startswith("ep_") and "\n" not in key
    assert "key id key_" in first.stderr and "tenant " + tenant + " (tn_" in first.stderr
    assert "callback signing secret (shown once): whsec_" in first.stderr
    second = json.loads((await _cli(cli, "keys", "create", "--tenant", tenant, "--role",
                                    "admin", "--json")).stdout)
    assert second["callback_secret"] is None  # the tenant existed: its secret is not shown
    listed = json.loads((await _cli(cli, "keys", "list", "--tenant", tenant, "--json")).stdout)
    assert [k["role"] for k in listed] == ["submitter", "admin"]
    assert {k["tenant_id"] for k in listed} == {second["tenant_id"]}
    assert second["key_id"] in (await _cli(cli, "keys", "list")).stdout
    revoked = await _cli(cli, "keys", "revoke", second["key_id"])
    assert revoked.returncode == 0
    again = _error_line(await _cli(cli, "keys", "revoke", second["key_id"]))
    assert "no live key" in again
    assert json.loads((await _cli(cli, "keys", "list", "--tenant", tenant, "--json")).stdout
                      )[1]["revoked_at"] is not None
    # The new admin key rotates its tenant's secret through the API.
    rotated = await _cli(cli, "tenant", "rotate-secret", "--grace", "60",
                         EVALPOD_API_KEY=key)
    assert rotated.returncode == 1 and "FORBIDDEN" in rotated.stderr  # a submitter key


def _start_up(home: Path, tiny_model_dir: Path, port: int) -> subprocess.Popen[str]:
    """`evalpod up` in its own session (Ctrl-C signals the group), tiny-gpt2 in place so
    it is not rebuilt; output merged on stdout."""
    shutil.copytree(tiny_model_dir, home / "models" / "tiny-gpt2")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALPOD_")}
    env |= {"EVALPOD_HOME": str(home)}
    return subprocess.Popen([*CLI, "up", "--port", str(port)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)


@pytest.mark.parametrize("when", ["starting", "up"])
def test_ctrl_c_of_up_is_one_line_and_130(when: str, tmp_path: Path,
                                          tiny_model_dir: Path) -> None:
    # Ctrl-C in a terminal signals the whole process group (analysis workers, Redis, model
    # builders alike): its own session here, SIGINT to the group.
    up = _start_up(tmp_path / "home", tiny_model_dir, free_port())
    family: set[int] = set()
    try:
        assert up.stdout is not None
        marker = "preparing the tiny-gpt2 model" if when == "starting" else "worker validator"
        seen = _read_until(up.stdout, lambda line: marker in line)
        assert marker in "".join(seen), "".join(seen)
        family = descendants(up.pid)
        os.killpg(up.pid, signal.SIGINT)
        rest = up.communicate(timeout=120)[0]
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
    output = "".join(seen) + rest
    assert up.returncode == 130, output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
    assert " ERROR " not in output and " WARNING " not in output, output
    assert output.splitlines()[-1] == "evalpod stopped (interrupted)"
    assert [pid for pid in family if alive(pid)] == []


def test_ctrl_c_of_up_ends_open_log_streams(tmp_path: Path, tiny_model_dir: Path) -> None:
    """A follower's open SSE stream must not hold `evalpod up` past its Ctrl-C (it did for
    ten minutes: the API waited for the stream, which never ends on its own)."""
    import threading

    import httpx

    home, port = tmp_path / "home", free_port()
    up = _start_up(home, tiny_model_dir, port)
    stream_ended = threading.Event()
    try:
        assert up.stdout is not None
        seen = _read_until(up.stdout, lambda line: "worker validator" in line)
        key = (home / "admin.key").read_text().strip()
        base = f"http://127.0.0.1:{port}/api/v1"
        headers = {"Authorization": f"Bearer {key}"}
        script = "import time\n\ndef evaluate_model(model):\n    time.sleep(600)\n    return {}\n"
        submitted = httpx.post(f"{base}/evaluations", headers=headers, timeout=60,
                               json={"script": script, "model_id": "tiny-gpt2"})
        assert submitted.status_code == 202, submitted.text
        evaluation_id = submitted.json()["evaluation_id"]
        opened = threading.Event()

        def follow() -> None:
            try:
                with httpx.stream("GET", f"{base}/evaluations/{evaluation_id}/logs",
                                  headers=headers, timeout=httpx.Timeout(5, read=None)) as reply:
                    opened.set()
                    for _ in reply.iter_lines():
                        pass
            except httpx.HTTPError:
                pass
            finally:
                opened.set()
                stream_ended.set()

        follower = threading.Thread(target=follow, daemon=True)
        follower.start()
        assert opened.wait(30)
        os.killpg(up.pid, signal.SIGINT)
        rest = up.communicate(timeout=60)[0]
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
    output = "".join(seen) + rest
    assert up.returncode == 130, output
    assert stream_ended.wait(10), "the follower's stream was never closed"
    assert output.splitlines()[-1] == "evalpod stopped (interrupted)"


async def test_a_script_reading_data_without_a_dataset_is_refused_with_the_option_to_add(
    stack: Stack, cli: Run, tmp_path: Path
) -> None:
    # The new user's case: no --model (the default), no --dataset, and data['quiz'] read.
    script = _script(tmp_path, "def evaluate_model(model, data):\n"
                               "    return {'n': len(data['quiz'])}\n")
    before = await stack.count_evaluations()
    refused = _error_line(await _cli(cli, "submit", script))
    assert "needs datasets" in refused and "(line 1)" in refused and "INVALID_CONFIG" in refused
    assert "--dataset name@version" in refused and "`evalpod datasets list`" in refused
    assert "KeyError" not in refused and "GET /" not in refused
    checked = await _cli(cli, "validate", script)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "invalid" in checked.stdout and "--dataset name@version" in checked.stdout
    assert await stack.count_evaluations() == before
