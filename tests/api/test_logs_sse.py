"""GET /evaluations/{id}/logs: the archive when the stream is gone, trial lines marked,
control characters neutralised, Last-Event-ID parsed or ignored (#12.2, #12.10, #11.1)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from httpx_sse import ServerSentEvent, aconnect_sse

from evalpod.logs.archive import archive_log
from evalpod.logs.events import LogLine, parse_log_data, render
from evalpod.logs.stream import close_stream, stream_key
from monitor.logs import LogWriter

GOOD = "def evaluate_model(model):\n    return {'accuracy': 1.0}\n"


async def _submit(client: httpx.AsyncClient) -> str:
    response = await client.post("/evaluations", json={"model_id": "tiny-gpt2", "script": GOOD})
    assert response.status_code == 202, response.text
    evaluation_id: str = response.json()["evaluation_id"]
    return evaluation_id


async def _events(client: httpx.AsyncClient, evaluation_id: str,
                  headers: dict[str, str | bytes] | None = None) -> list[ServerSentEvent]:
    async with aconnect_sse(client, "GET", f"/evaluations/{evaluation_id}/logs",
                            headers=headers or {}) as source:
        assert source.response.status_code == 200
        return [event async for event in source.aiter_sse()]


def _lines(events: list[ServerSentEvent]) -> list[LogLine]:
    return [LogLine.model_validate_json(e.data) for e in events if e.event == "log"]


async def _trial_then_run(api_app: FastAPI, evaluation_id: str, status: str | None) -> None:
    redis = api_app.state.redis
    trial = LogWriter(redis, evaluation_id, maxlen=1000, phase="trial")
    await trial.write("[evalpod] loading model tiny-gpt2")
    await trial.note("trial run succeeded after 0.40 s")
    await trial.aclose()
    await archive_log(api_app.state.db, redis, evaluation_id, max_bytes=1 << 20)
    run = LogWriter(redis, evaluation_id, maxlen=1000)
    for i in range(5):
        await run.write(f"line {i}")
    await run.write("\x1b]0;pwned\x07\x1b[2K\x00title")
    await run.aclose()
    if status is not None:
        await close_stream(redis, evaluation_id, status, ttl_s=60)
    await archive_log(api_app.state.db, redis, evaluation_id, max_bytes=1 << 20)


async def test_stream_deleted_logs_still_serve_every_line_and_the_end(
    api_app: FastAPI, client: httpx.AsyncClient,
) -> None:
    evaluation_id = await _submit(client)
    await _trial_then_run(api_app, evaluation_id, "succeeded")
    live = await _events(client, evaluation_id)
    await api_app.state.redis.delete(stream_key(evaluation_id))
    archived = await _events(client, evaluation_id)
    assert [(e.event, e.id, e.data) for e in archived] == [(e.event, e.id, e.data) for e in live]
    lines = _lines(archived)
    assert [(x.phase, x.source) for x in lines[:2]] == [("trial", "job"), ("trial", "evalpod")]
    assert [x.text for x in lines[2:7]] == [f"line {i}" for i in range(5)]
    assert {x.phase for x in lines[2:]} == {"run"}
    assert archived[-1].event == "end" and archived[-1].data == "succeeded"
    # A job's "[evalpod]" line stays the job's; evalpod's own lines say so in `source`.
    assert render(lines[0]) == "trial | [evalpod] loading model tiny-gpt2"
    assert render(lines[1]) == "== evalpod (trial): trial run succeeded after 0.40 s"


async def test_control_characters_are_neutralised_where_shown(
    api_app: FastAPI, client: httpx.AsyncClient,
) -> None:
    evaluation_id = await _submit(client)
    await _trial_then_run(api_app, evaluation_id, "failed")
    shown = _lines(await _events(client, evaluation_id))[-1].text
    assert shown == "␛]0;pwned␇␛[2K␀title"
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in shown)


async def test_a_lost_stream_of_a_finished_job_ends_with_the_recorded_status(
    api_app: FastAPI, client: httpx.AsyncClient,
) -> None:
    """`evalpod up` restarted mid-run: no `end` entry anywhere; the database decides."""
    evaluation_id = await _submit(client)
    await _trial_then_run(api_app, evaluation_id, None)
    await api_app.state.redis.delete(stream_key(evaluation_id))
    cancelled = await client.post(f"/evaluations/{evaluation_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    events = await _events(client, evaluation_id)
    assert [x.text for x in _lines(events)][2:7] == [f"line {i}" for i in range(5)]
    assert events[-1].event == "end" and events[-1].data == "cancelled"


async def test_last_event_id_resumes_or_is_ignored(
    api_app: FastAPI, client: httpx.AsyncClient,
) -> None:
    evaluation_id = await _submit(client)
    await _trial_then_run(api_app, evaluation_id, "succeeded")
    events = await _events(client, evaluation_id)
    resumed = await _events(client, evaluation_id, {"Last-Event-ID": events[3].id or ""})
    assert [e.data for e in resumed] == [e.data for e in events[4:]]
    for bad in [b"garbage", b"-1", b"1-2-3", b"99999999999999999999999-0", b"9" * 5000,
                b"0x10", "\uff11\uff12-3".encode(), b" ", b"\xff\xfe"]:
        again = await _events(client, evaluation_id, {"Last-Event-ID": bad})
        assert [e.data for e in again] == [e.data for e in events], bad


def test_plain_text_data_is_read_as_a_line() -> None:
    assert parse_log_data("hello\x1b[0m") == LogLine(text="hello␛[0m")
    line = LogLine(text="x", phase="trial", source="evalpod", continues=True)
    assert parse_log_data(line.to_data()) == line
