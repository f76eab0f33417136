"""Progress reports in the log: marker lines become bounded `progress` SSE events, resumable,
thinned in the archive; GET /evaluations/{id}/script serves the tenant's own script (#14.3)."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi import FastAPI
from httpx_sse import ServerSentEvent, aconnect_sse

import monitor.logs
from evalpod.logs.archive import archive_log
from evalpod.logs.progress import MARKER, Progress, parse_progress_data
from evalpod.logs.stream import close_stream, stream_key
from monitor.logs import LogWriter
from tests.api.conftest import ClientFactory

SCRIPT = "def evaluate_model(model):\n    model.progress(1, 2)\n    return {'accuracy': 1.0}\n"


def _marker(**report: object) -> str:
    return MARKER + json.dumps(report)


async def _submit(client: httpx.AsyncClient) -> str:
    response = await client.post("/evaluations", json={"model_id": "tiny-gpt2", "script": SCRIPT})
    assert response.status_code == 202, response.text
    evaluation_id: str = response.json()["evaluation_id"]
    return evaluation_id


async def _events(client: httpx.AsyncClient, evaluation_id: str,
                  headers: dict[str, str] | None = None) -> list[ServerSentEvent]:
    async with aconnect_sse(client, "GET", f"/evaluations/{evaluation_id}/logs",
                            headers=headers or {}) as source:
        assert source.response.status_code == 200
        return [event async for event in source.aiter_sse()]


def _progress(events: list[ServerSentEvent]) -> list[Progress]:
    found = [parse_progress_data(e.data) for e in events if e.event == "progress"]
    assert all(p is not None for p in found)
    return [p for p in found if p is not None]


async def _run_with_reports(api_app: FastAPI, evaluation_id: str,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A trial (archived) and a run that ended but is not archived yet: the stream has
    every report the host let through."""
    # No two reports of a bar pass by timing luck.
    monkeypatch.setattr(monitor.logs, "PROGRESS_INTERVAL_S", 3600.0)
    redis = api_app.state.redis
    trial = LogWriter(redis, evaluation_id, maxlen=1000, phase="trial")
    await trial.write(_marker(bar=0, done=2, total=2, description="trial bar"))
    await trial.aclose()
    await archive_log(api_app.state.db, redis, evaluation_id, max_bytes=1 << 20)
    run = LogWriter(redis, evaluation_id, maxlen=1000)
    await run.write("before")
    await run.write(_marker(bar=0, done=0, total=4, description="questions\x1b[2J",
                            rate=None, elapsed_s=0, eta_s=None, extra="dropped"))
    for done in (1, 2, 3):  # within the host's interval: held back
        await run.write(_marker(bar=0, done=done, total=4, description="questions",
                                rate=10.0, elapsed_s=0.1 * done, eta_s=0.1 * (4 - done)))
    await run.write(_marker(bar=0, done=4, total=4, description="questions", rate=10.0,
                            elapsed_s=0.4, eta_s=0))
    await run.write(_marker(bar=1, done=5, total=None, description="open"))
    await run.write(_marker(bar=0, done=float("nan"), total=4))  # not JSON a report may be
    await run.write(_marker(bar=99, done=1, total=4))  # no such bar
    await run.write(_marker(bar=0, done=1e300, total=4))  # out of bounds
    await run.write(MARKER + "{not json")
    await run.write("after")
    await run.aclose()
    await close_stream(redis, evaluation_id, "succeeded", ttl_s=60)


async def test_reports_become_progress_events_bounded_and_neutralised(
    api_app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch,
) -> None:
    evaluation_id = await _submit(client)
    await _run_with_reports(api_app, evaluation_id, monkeypatch)
    events = await _events(client, evaluation_id)
    progress = _progress(events)
    assert [(p.phase, p.bar, p.done, p.total) for p in progress] == [
        ("trial", 0, 2, 2), ("run", 0, 0, 4), ("run", 0, 4, 4), ("run", 1, 5, None)]
    assert progress[1].description == "questions\u241b[2J"
    assert "extra" not in json.loads(next(e.data for e in events if e.event == "progress"))
    assert progress[2].final and progress[2].eta_s == 0 and progress[2].rate == 10.0
    assert all(e.id for e in events if e.event == "progress")
    # Marker lines that are not valid reports stay plain log lines, shown neutralised.
    texts = [json.loads(e.data)["text"] for e in events if e.event == "log"]
    assert texts[0] == "before" and texts[-1] == "after"
    assert len(texts) == 2 + 4 and all(t.startswith("\u2402evalpod:progress ")
                                       for t in texts[1:-1])
    assert events[-1].event == "end"


async def test_progress_events_resume_and_the_archive_keeps_each_bar_s_last(
    api_app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch,
) -> None:
    evaluation_id = await _submit(client)
    await _run_with_reports(api_app, evaluation_id, monkeypatch)
    live = await _events(client, evaluation_id)
    first_progress = next(i for i, e in enumerate(live) if e.event == "progress" and
                          '"phase": "run"' in e.data)
    resumed = await _events(client, evaluation_id, {"Last-Event-ID": live[first_progress].id or ""})
    assert [e.data for e in resumed] == [e.data for e in live[first_progress + 1:]]
    # Archived, the stream gone: the archive replays lines in full, and only the final
    # report of each bar of each job.
    redis = api_app.state.redis
    await archive_log(api_app.state.db, redis, evaluation_id, max_bytes=1 << 20)
    await redis.delete(stream_key(evaluation_id))
    archived = await _events(client, evaluation_id)
    assert [(p.phase, p.bar, p.done) for p in _progress(archived)] == [
        ("trial", 0, 2), ("run", 0, 4), ("run", 1, 5)]
    assert [e.data for e in archived if e.event == "log"] == [
        e.data for e in live if e.event == "log"]
    assert archived[-1].event == "end" and archived[-1].data == "succeeded"


async def test_the_script_is_served_to_its_tenant_only(
    client: httpx.AsyncClient, make_client: ClientFactory,
) -> None:
    evaluation_id = await _submit(client)
    response = await client.get(f"/evaluations/{evaluation_id}/script")
    assert response.status_code == 200, response.text
    assert response.json() == {"evaluation_id": evaluation_id, "kind": "script",
                               "script": SCRIPT}
    other = await make_client("someone-else")
    refused = await other.get(f"/evaluations/{evaluation_id}/script")
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "JOB_NOT_FOUND"
    unknown = await client.get("/evaluations/ev_nope/script")
    assert unknown.status_code == 404


async def test_the_openapi_document_lists_the_progress_event(client: httpx.AsyncClient) -> None:
    document = (await client.get("http://test/api/openapi.json")).json()
    media = document["paths"]["/api/v1/evaluations/{evaluation_id}/logs"]["get"]["responses"][
        "200"]["content"]["text/event-stream"]
    assert set(media["x-events"]) == {"log", "progress", "end"}
    assert {"done", "total", "rate", "eta_s", "phase"} <= set(
        media["x-events"]["progress"]["properties"])
    assert "/api/v1/evaluations/{evaluation_id}/script" in document["paths"]
