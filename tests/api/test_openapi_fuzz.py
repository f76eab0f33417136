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
from collections.abc import Callable, Iterator
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
MAX_EXAMPLES = int(os.environ.get("EVALPOD_FUZZ_EXAMPLES", "20"))
# CI is deterministic; EVALPOD_FUZZ_SEED=N runs a random generation from seed N instead (to
# look past the deterministic examples: `EVALPOD_FUZZ_SEED=7 EVALPOD_FUZZ_EXAMPLES=50`).
SEED = os.environ.get("EVALPOD_FUZZ_SEED")
SCRIPT = "def evaluate_model(model):\n    return {'accuracy': 1.0}\n"
# More schemathesis options for a local look, e.g. `--report har` (the files go to tmp_path).
EXTRA_ARGS = os.environ.get("EVALPOD_FUZZ_ARGS", "").split()


async def _seed(dsn: str, model_dir: Path) -> tuple[str, str, str]:
    database = Database(dsn)
    try:
        async with database.session() as session:
            await register_model(session, model_dir, "tiny-gpt2", model_id="tiny-gpt2")
            _, key = await create_key(session, "fuzz", Role.admin)
            victim, _ = await create_key(session, "fuzz-victim", Role.submitter)
    finally:
        await database.dispose()
    return key, victim.tenant_id, victim.id


def _cancelled_evaluation(url: str, key: str) -> str:
    with httpx.Client(base_url=url + "/api/v1", timeout=60,
                      headers={"Authorization": f"Bearer {key}"}) as client:
        accepted = client.post("/evaluations", json={"model_id": "tiny-gpt2", "script": SCRIPT})
        evaluation_id: str = accepted.json()["evaluation_id"]
        assert client.post(f"/evaluations/{evaluation_id}/cancel").status_code == 200
    return evaluation_id


@pytest.fixture(scope="module")
def live_api(pg_factory: Callable[[str], str], tiny_model_dir: Path
             ) -> Iterator[dict[str, Any]]:
    """A real uvicorn in its own thread and event loop (schemathesis calls it synchronously),
    on a database of its own: the fuzzer promotes, archives and reconfigures what it finds."""
    pg_dsn = pg_factory("fuzz")
    # Limits no run reaches: a 429 leaves the logic behind it untested.
    app_settings = stack_settings(pg_dsn, redis_db=14, rate_per_minute=10**9,
                                  rate_burst_per_second=10**9, max_live_evaluations=10**9)
    key, victim, victim_key = asyncio.run(_seed(pg_dsn, tiny_model_dir))
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
    yield {"url": url, "key": key, "victim": victim, "victim_key": victim_key,
           "finished": _cancelled_evaluation(url, key)}
    server.should_exit = True
    thread.join(timeout=10)


def test_api_conforms_to_its_openapi(live_api: dict[str, Any], tmp_path: Path) -> None:
    """schemathesis (the CLI: its pytest plugin does not run on this pytest) with every
    check; `positive_data_acceptance` knows the contract's stateful refusals
    (`schemathesis_hooks.positive_data_served`)."""
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.api.schemathesis_hooks",
           "EVALPOD_FUZZ_VICTIM_TENANT": live_api["victim"],
           "EVALPOD_FUZZ_VICTIM_KEY": live_api["victim_key"],
           "EVALPOD_FUZZ_FINISHED_EVALUATION": live_api["finished"], "PYTHONPATH": str(ROOT)}
    # Read once here, with a patient timeout (a loaded CI machine builds it slowly).
    document = tmp_path / "openapi.json"
    document.write_bytes(httpx.get(live_api["url"] + "/api/openapi.json", timeout=120).content)
    command = [
        str(Path(sys.executable).parent / "schemathesis"), "run", str(document),
        "--url", live_api["url"], "--checks", "all",
        "--exclude-checks", "positive_data_acceptance,negative_data_rejection",
        "-H", f"Authorization: Bearer {live_api['key']}", "--max-examples", str(MAX_EXAMPLES),
        "--phases", "examples,coverage,fuzzing",
        *(["--seed", SEED, "--generation-database", "none"] if SEED
          else ["--generation-deterministic"]),
        "--continue-on-failure", "--request-timeout", "20", "--no-color",
        "--report-dir", str(tmp_path), *EXTRA_ARGS,
    ]
    run = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=1500)
    (tmp_path / "schemathesis.txt").write_text(run.stdout + run.stderr)
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
