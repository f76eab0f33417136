"""Property-based fuzz of the whole OpenAPI document with every schemathesis check (CI).

No 5xx, every response matches the document, every schema-valid request is served and
every schema-invalid one refused (the schema states every rule the server applies).
Two kinds of refusal are the contract's, not disagreements: codes that depend on what
exists or on the content of a script (MODEL_NOT_FOUND, INVALID_SCRIPT, ...), and a
callback URL whose host does not resolve to public addresses (DNS, not shape).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from api.app import create_app
from evalpod.db import Database
from evalpod.keys import Role, create_key
from evalpod.registry import register_model
from tests.stack import free_port, stack_settings

ROOT = Path(__file__).resolve().parents[2]
MAX_EXAMPLES = int(os.environ.get("EVALPOD_FUZZ_EXAMPLES", "10"))


async def _seed(dsn: str, model_dir: Path) -> tuple[str, str]:
    database = Database(dsn)
    try:
        async with database.session() as session:
            await register_model(session, model_dir, "tiny-gpt2", model_id="tiny-gpt2")
            _, key = await create_key(session, "fuzz", Role.admin)
            victim, _ = await create_key(session, "fuzz-victim", Role.submitter)
    finally:
        await database.dispose()
    return key, victim.tenant_id


@pytest.fixture(scope="module")
def live_api(pg_dsn: str, tiny_model_dir: Path) -> Iterator[dict[str, Any]]:
    """A real uvicorn in its own thread and event loop (schemathesis calls it synchronously)."""
    app_settings = stack_settings(pg_dsn, redis_db=14)
    key, victim = asyncio.run(_seed(pg_dsn, tiny_model_dir))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(app_settings), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(url + "/api/v1/health").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    yield {"url": url, "key": key, "victim": victim}
    server.should_exit = True
    thread.join(timeout=10)


def test_api_conforms_to_its_openapi(live_api: dict[str, Any], tmp_path: Path) -> None:
    """schemathesis (the CLI: its pytest plugin does not run on this pytest) with every
    check, our two refinements (`schemathesis_hooks`) in place of the two built-ins."""
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.api.schemathesis_hooks",
           "EVALPOD_FUZZ_VICTIM_TENANT": live_api["victim"], "PYTHONPATH": str(ROOT)}
    # Read once here, with a patient timeout (a loaded CI machine builds it slowly).
    document = tmp_path / "openapi.json"
    document.write_bytes(httpx.get(live_api["url"] + "/api/openapi.json", timeout=120).content)
    command = [
        str(Path(sys.executable).parent / "schemathesis"), "run", str(document),
        "--url", live_api["url"], "--checks", "all",
        "--exclude-checks", "positive_data_acceptance,negative_data_rejection",
        "-H", f"Authorization: Bearer {live_api['key']}", "--max-examples", str(MAX_EXAMPLES),
        "--phases", "examples,coverage,fuzzing", "--generation-deterministic",
        "--request-timeout", "20", "--no-color", "--report-dir", str(tmp_path),
    ]
    run = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=1500)
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
