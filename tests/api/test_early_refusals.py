"""Fault 11: a refusal sent before the body is read reaches every client, not only curl.

Python's urllib sends the whole body before reading the answer; a server that answers
413 and closes while it is still sending gave it `Broken pipe` in 4 of 10 tries.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from api.app import create_app
from evalpod.db import Database
from evalpod.keys import Role, create_key
from tests.stack import free_port, stack_settings


async def _key(dsn: str) -> str:
    database = Database(dsn)
    try:
        async with database.session() as session:
            _, key = await create_key(session, "refusals", Role.submitter)
    finally:
        await database.dispose()
    return key


@pytest.fixture(scope="module")
def live_api(pg_dsn: str, tiny_model_dir: Path) -> Iterator[dict[str, Any]]:
    """A real uvicorn over TCP (the fault lives in the connection, not the app)."""
    key = asyncio.run(_key(pg_dsn))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(stack_settings(pg_dsn, redis_db=15)),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            if httpx.get(url + "/api/v1/health").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    yield {"url": url, "key": key}
    server.should_exit = True
    thread.join(timeout=10)


def test_urllib_reads_the_413_of_a_1_2_mb_submit_every_time(live_api: dict[str, Any]) -> None:
    body = json.dumps({"model_id": "tiny-gpt2",
                       "script": "x = 1\n" * 200_000}).encode()  # 1.2 MB, cap 256 KiB
    assert len(body) > 1_200_000
    for attempt in range(10):
        request = urllib.request.Request(
            live_api["url"] + "/api/v1/evaluations", data=body, method="POST",
            headers={"Content-Type": "application/json",
                     "Authorization": f"Bearer {live_api['key']}"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 413, attempt
        error = json.loads(refused.value.read())["error"]
        assert error["code"] == "PAYLOAD_TOO_LARGE", error
