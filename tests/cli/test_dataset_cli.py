"""`evalpod datasets add` shows the real row count (or why there is none), and `evalpod
submit --dataset NAME` without a version says the form and the versions there are.

The real CLI in subprocesses against a running stack with the dataset checker.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.datasets.conftest import DataStack, datasets_dsn, datastack  # noqa: F401

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-c", "from evalpod.cli import main; main()"]


async def _evalpod(stack: DataStack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALPOD_")}
    env |= {"EVALPOD_URL": stack.stack.url, "EVALPOD_API_KEY": stack.stack.key}
    return await asyncio.to_thread(subprocess.run, [*CLI, *args], capture_output=True,
                                   text=True, env=env, timeout=300)


async def test_datasets_add_prints_rows_or_why_there_are_none(
    datastack: DataStack, tmp_path: Path  # noqa: F811
) -> None:
    name = f"rows-{os.getpid()}"
    good = tmp_path / "good.jsonl"
    good.write_text("".join(f'{{"id": "{i}", "q": "x"}}\n' for i in range(3)))
    done = await _evalpod(datastack, "datasets", "add", str(good), "--name", name)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"{name}@1: uploaded (") and "checking it in the sandbox" \
        in lines[0]
    assert lines[1] == f"{name}@1: ready, 3 rows"
    bad = tmp_path / "bad.csv"
    bad.write_text("id,t\n1,a\n2,a,b\n")
    failed = await _evalpod(datastack, "datasets", "add", str(bad), "--name", f"{name}-bad")
    assert failed.returncode == 1
    assert f"{name}-bad@1: failed, no rows read (the findings below say why)" in failed.stdout
    assert "None" not in failed.stdout and "RAGGED_CSV" in failed.stdout
    listed = await _evalpod(datastack, "datasets", "list", "--q", name)
    assert "1 (ready, 3 rows)" in listed.stdout and "1 (failed, no rows)" in listed.stdout


async def test_a_dataset_without_its_version_says_the_form_and_the_versions(
    datastack: DataStack, tmp_path: Path  # noqa: F811
) -> None:
    name = f"quiz-{os.getpid()}"
    await datastack.ready(name, b'{"id": "a", "q": "x"}\n')
    script = tmp_path / "eval.py"
    script.write_text("def evaluate_model(model, data):\n    return {'n': 1.0}\n")
    bare = await _evalpod(datastack, "submit", str(script), "--model", "tiny-gpt2",
                          "--dataset", name)
    assert bare.returncode == 1 and bare.stdout == ""
    assert bare.stderr.count("\n") == 1 and "Traceback" not in bare.stderr
    assert f"--dataset {name}: name a version, as NAME@VERSION" in bare.stderr
    assert f"{name} has versions 1 (ready)" in bare.stderr
    assert f"e.g. --dataset {name}@1" in bare.stderr
    unknown = await _evalpod(datastack, "submit", str(script), "--model", "tiny-gpt2",
                             "--dataset", "no-such-data")
    assert unknown.returncode == 1
    assert "there is no dataset 'no-such-data'" in unknown.stderr
    assert "evalpod datasets list" in unknown.stderr


async def test_a_rate_limited_registry_call_is_waited_out(tmp_path: Path) -> None:
    # Same class as the follow's log stream: a 429 RATE_LIMITED ended `datasets list` (and
    # `datasets add --wait`'s polling) with an error instead of waiting its Retry-After.
    from aiohttp import web

    from tests.stack import free_port

    calls: list[str] = []

    async def datasets(_request: web.Request) -> web.Response:
        calls.append("GET")
        if len(calls) == 1:
            return web.json_response(
                {"error": {"code": "RATE_LIMITED", "message": "too many requests",
                           "hint": "", "detail": {}}}, status=429, headers={"Retry-After": "1"})
        return web.json_response({"total": 0, "next_cursor": None, "items": []})

    app = web.Application()
    app.router.add_get("/api/v1/datasets", datasets)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALPOD_")}
    env |= {"EVALPOD_URL": f"http://127.0.0.1:{port}", "EVALPOD_API_KEY": "ep_test",
            "EVALPOD_HOME": str(tmp_path)}
    try:
        result = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-c", "from evalpod.cli import main; main()",
                             "datasets", "list"], env=env, capture_output=True, text=True,
            timeout=60)
    finally:
        await runner.cleanup()
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == ["-- rate limited; trying again in 1 s"]
    assert result.stdout.split()[:2] == ["DATASET", "MODALITY"] and len(calls) == 2
