"""Submit's hot path on PostgreSQL: one autocommit statement, no BEGIN/COMMIT round trips,
and the evaluation with its first transition stored before the 202, all the same."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event

GOOD = "def evaluate_model(model):\n    return {'accuracy': 1.0}\n"


@contextmanager
def statements(app: FastAPI) -> Iterator[list[tuple[str, bool]]]:
    """(first word of each SQL statement the app sends, whether its connection autocommits)."""
    seen: list[tuple[str, bool]] = []
    engine = app.state.db.engine.sync_engine

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append((statement.split()[0].upper(),
                     bool(conn.connection.dbapi_connection.autocommit)))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_plain_submit_is_one_autocommit_statement(client: httpx.AsyncClient,
                                                        api_app: FastAPI) -> None:
    await client.post("/evaluations", json={"model_id": "tiny-gpt2", "script": GOOD})  # warm
    with statements(api_app) as seen:
        response = await client.post("/evaluations",
                                     json={"model_id": "tiny-gpt2", "script": GOOD})
    assert response.status_code == 202, response.text
    assert seen == [("WITH", True)]  # the evaluation, its transition and activity rows
    stored = (await client.get(f"/evaluations/{response.json()['evaluation_id']}")).json()
    assert stored["status"] == "pending_validation"
    assert [(t["from_status"], t["to_status"]) for t in stored["transitions"]] == [
        (None, "pending_validation")]
    # The pooled connection went back in its ordinary (transactional) mode.
    with statements(api_app) as later:
        await client.get(f"/evaluations/{response.json()['evaluation_id']}/status")
    assert later and not any(autocommit for _, autocommit in later)


async def test_keyed_submit_keeps_its_transaction(client: httpx.AsyncClient,
                                                  api_app: FastAPI) -> None:
    body = {"model_id": "tiny-gpt2", "script": GOOD, "idempotency_key": "fast-path-key"}
    with statements(api_app) as seen:
        first = await client.post("/evaluations", json=body)
    assert first.status_code == 202, first.text
    assert seen and not any(autocommit for _, autocommit in seen)
    again = await client.post("/evaluations", json=body)
    assert again.json()["evaluation_id"] == first.json()["evaluation_id"]
