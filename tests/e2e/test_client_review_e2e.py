"""What a new user's first runs showed, against a running stack: a wait that keeps within
its key's rate limit, and a log cut for too much output whose reason reads as evalpod's."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from evalpod import AsyncClient, Client
from evalpod.cli.progress import LogPrinter
from evalpod.logs.events import LogLine
from tests.stack import Stack

CLI = [sys.executable, "-c", "from evalpod.cli import main; main()"]
REAL_RUN = "model.model.config.n_embd == 96"  # tiny-gpt2; the trial's shadow is 64 wide
# Two lines of 600,000 characters pass the 1 MiB output cap within the second: the job is
# killed there, its cut line (`continues`) never ends, and evalpod's reason follows.
FLOOD = ('def evaluate_model(model):\n    for _ in range(3):\n        print("x" * 600000)\n'
         '    return {}\n')
LONG = f'''
import time

def evaluate_model(model):
    time.sleep(25 if {REAL_RUN} else 0)
    return {{"slept": 1}}
'''
PER_MINUTE = 10


def _env(stack: Stack, tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EVALPOD_")}
    return clean | {"EVALPOD_URL": stack.url, "EVALPOD_API_KEY": stack.key,
                    "EVALPOD_HOME": str(tmp_path / "home")}


async def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(subprocess.run, [*CLI, *args], env=env,
                                   capture_output=True, text=True, timeout=600)


class _Counted(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return super().handle_request(request)


class _AsyncCounted(httpx.AsyncHTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return await super().handle_async_request(request)


async def _limited_key(stack: Stack, tenant: str) -> str:
    from sqlalchemy import update

    from evalpod.db import get_database
    from evalpod.keys import Role, create_key
    from evalpod.orm import Tenant

    async with get_database(stack.settings.database_dsn()).session() as session:
        key, plaintext = await create_key(session, tenant, Role.submitter)
        await session.execute(update(Tenant).where(Tenant.id == key.tenant_id)
                              .values(limits={"requests_per_minute": PER_MINUTE}))
    return plaintext


async def test_two_waits_on_a_key_of_ten_requests_a_minute_end_without_an_error(
    stack: Stack, tmp_path: Path
) -> None:
    # The review's case: waits polled /status every second, spent the key's whole rate
    # limit and gave up on the first Retry-After over 10 s. Two waits at once (one sync,
    # one async) on a key allowed 10 requests a minute, for a job of half a minute and
    # more: both back off, and any 429 on the way is waited out, not raised.
    plaintext = await _limited_key(stack, f"wait-{os.getpid()}-{id(tmp_path)}")
    sync_transport, async_transport = _Counted(), _AsyncCounted()
    # The stack serves from this event loop: the sync client runs in a thread beside it.
    with Client(stack.url, plaintext, transport=sync_transport) as client:
        accepted = await asyncio.to_thread(client.submit, LONG, model="tiny-gpt2")
        started = time.monotonic()
        async with AsyncClient(stack.url, plaintext, transport=async_transport) as other:
            synced, awaited = await asyncio.gather(
                asyncio.to_thread(client.wait, accepted.evaluation_id, timeout_s=400),
                other.wait(accepted.evaluation_id, timeout_s=400))
        elapsed = time.monotonic() - started
    assert synced.status == awaited.status == "succeeded", synced
    assert synced.result == {"slept": 1}
    assert elapsed > 25
    # 1 s polling sent 60 a minute each; backing off to 8 s pauses, about 8 each. The
    # minute windows the wait spanned allow PER_MINUTE each (refused requests count too).
    for transport in (sync_transport, async_transport):
        polls = [p for p in transport.paths if p.endswith("/status")]
        assert len(polls) <= 12 + elapsed / 8, (len(polls), elapsed)
    minutes = elapsed / 60 + 2
    assert len(sync_transport.paths) + len(async_transport.paths) <= 2 * PER_MINUTE * minutes


async def test_a_wait_that_times_out_says_the_status_it_last_saw(stack: Stack) -> None:
    from evalpod.sdk import WaitTimeout

    async with AsyncClient(stack.url, stack.key) as client:
        evaluation_id = (await client.submit(LONG, model="tiny-gpt2")).evaluation_id
        started = time.monotonic()
        try:
            await client.wait(evaluation_id, timeout_s=2)
        except WaitTimeout as timed_out:
            assert timed_out.status in {"pending_validation", "validated", "executing"}
        else:
            raise AssertionError("the wait did not time out")
        assert 2 <= time.monotonic() - started < 5
        await client.cancel(evaluation_id)


async def test_a_job_killed_for_its_output_shows_evalpod_s_reason_on_its_own_line(
    stack: Stack, tmp_path: Path
) -> None:
    script = tmp_path / "flood.py"
    script.write_text(FLOOD)
    env = _env(stack, tmp_path)
    followed = await _run(env, "submit", str(script), "--follow")
    assert followed.returncode == 1, followed.stderr
    evaluation_id = followed.stderr.split()[1]
    logs = await _run(env, "logs", evaluation_id)
    assert logs.returncode == 0, logs.stderr
    for shown in (followed.stdout, logs.stdout):
        lines = shown.splitlines()
        reason = [i for i, line in enumerate(lines) if "bytes of output" in line]
        assert reason, shown[-500:]
        # evalpod's line is its own (its `==` prefix), right after the job's cut line.
        said = lines[reason[0]]
        assert said.startswith("== evalpod (trial): trial run killed after "), said[:200]
        assert "output: more than 1048576 bytes of output" in said, said
        assert lines[reason[0] - 1].startswith("trial | xxx")
        assert lines[reason[0] - 1].rstrip("x") == "trial | "
        flood = [line for line in lines if line.startswith("trial | x")]
        assert flood == [lines[reason[0] - 2], lines[reason[0] - 1]]
        assert len(flood[0]) == len("trial | ") + 600000 > len(flood[1])
    assert f"== {evaluation_id}: validation_failed" in followed.stdout


def test_a_cut_line_ends_before_a_line_of_another_source_or_phase_live_or_not() -> None:
    pieces = [LogLine(text="abc", phase="trial", continues=True),
              LogLine(text="def", phase="trial", continues=True),
              LogLine(text="killed", phase="trial", source="evalpod"),
              LogLine(text="cut", phase="run", continues=True),
              LogLine(text="next run line", phase="run", source="job"),
              LogLine(text="dangling", phase="run", continues=True)]
    for live in (False, True):
        out = io.StringIO()
        with LogPrinter(out, live=live) as printer:
            for piece in pieces:
                printer.line(piece)
        assert out.getvalue().splitlines() == [
            "trial | abcdef", "== evalpod (trial): killed", "| cutnext run line",
            "| dangling"], (live, out.getvalue())


async def test_a_bad_filter_names_its_field_once(stack: Stack, tmp_path: Path) -> None:
    listed = await _run(_env(stack, tmp_path), "list", "--status", "bogus")
    assert listed.returncode == 1, listed.stderr
    [line] = listed.stderr.splitlines()
    assert line.startswith("error: invalid request: query.status: Input should be "), line
    assert line.count("query.status") == 1 and "[INVALID_CONFIG]" in line


async def test_a_mistyped_model_is_answered_with_the_close_ids(
    stack: Stack, tmp_path: Path
) -> None:
    script = tmp_path / "eval.py"
    script.write_text("def evaluate_model(model):\n    return {}\n")
    env = _env(stack, tmp_path)
    refused = await _run(env, "submit", str(script), "--model", "Tiny-GPT")
    assert refused.returncode == 1, refused.stderr
    [line] = refused.stderr.splitlines()
    assert "MODEL_NOT_FOUND" in line and "hint: Did you mean 'tiny-gpt2'?" in line, line
    assert "`evalpod models list`" in line
    checked = await _run(env, "validate", str(script), "--model", "tiny-gpt")
    assert checked.returncode == 1 and "Did you mean 'tiny-gpt2'?" in checked.stdout
    far = await _run(env, "submit", str(script), "--model", "qqqqqqqq")
    assert "Did you mean" not in far.stderr and "MODEL_NOT_FOUND" in far.stderr
    async with AsyncClient(stack.url, stack.key) as client:
        from evalpod.sdk.errors import ModelNotFound

        try:
            await client.submit("def evaluate_model(model):\n    return {}\n",
                                model="tiny_gpt2")
        except ModelNotFound as error:
            assert error.detail["did_you_mean"] == ["tiny-gpt2"]
            assert error.hint.startswith("Did you mean 'tiny-gpt2'? ")
        else:
            raise AssertionError("a mistyped model was accepted")
