"""Issue 2's end-to-end behaviour, on PostgreSQL and SQLite, through the real stack."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
from httpx_sse import ServerSentEvent, aconnect_sse

from evalpod.logs.events import parse_log_data
from tests.e2e.processes import processes_of_job
from tests.stack import Stack

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# True only in the real run: tiny-gpt2 is 96 wide, its shadow (the trial's model) 64.
REAL_RUN = "model.model.config.n_embd == 96"

RAISES = '''
def evaluate_model(model):
    print("about to fail")
    return {"ratio": 1 / 0}
'''

SPIN = '''
def evaluate_model(model):
    print("spinning", flush=True)
    while True:
        pass
    return {}
'''

SLOW = '''
import time

def evaluate_model(model):
    for i in range(600):
        print("tick", i, flush=True)
        time.sleep(0.1)
    return {"done": 1}
'''

CHATTY = '''
def evaluate_model(model):
    for i in range(50):
        print(f"line {i:03d}")
    return {"lines": 50}
'''


async def test_benign_example_goes_through_every_stage(stack: Stack) -> None:
    script = (EXAMPLES / "qa_exact_match.py").read_text()
    response = await stack.submit(script, config={"timeout_s": 120})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "pending_validation" and body["queue_position"] >= 1
    record = await stack.wait_for(body["evaluation_id"], {"succeeded"})
    assert isinstance(record["result"], dict) and record["result"]
    assert record["validation"]["trial"]["passed"] is True
    assert await stack.transitions(body["evaluation_id"]) == [
        (None, "pending_validation"), ("pending_validation", "validated"),
        ("validated", "executing"), ("executing", "succeeded"),
    ]
    assert [t["to_status"] for t in record["transitions"]][-1] == "succeeded"
    metrics = (await stack.http.get(stack.url + "/metrics")).text
    # A histogram the workers feed: this run and its validation are counted in it.
    for stage in ("run", "validation"):
        count = re.search(rf'evalpod_stage_duration_seconds_count{{stage="{stage}"}} (\S+)',
                          metrics)
        assert count is not None and float(count.group(1)) >= 1, stage
    assert 'evalpod_evaluations{status="succeeded"}' in metrics


async def test_raising_script_fails_with_traceback_in_logs(stack: Stack) -> None:
    # The trial would catch this, so the division happens only on the real model.
    script = RAISES.replace("1 / 0", f"1 / (0 if {REAL_RUN} else 1)")
    response = await stack.submit(script)
    evaluation_id = response.json()["evaluation_id"]
    record = await stack.wait_for(evaluation_id, {"failed"})
    assert "ZeroDivisionError" in (record["error"] or "")
    lines = [e.data for e in await _sse(stack, evaluation_id) if e.event == "log"]
    assert any("Traceback" in line for line in lines)
    assert any("ZeroDivisionError" in line for line in lines)


async def test_trial_run_rejects_a_script_that_fails_on_the_shadow(stack: Stack) -> None:
    response = await stack.submit(RAISES)
    record = await stack.wait_for(response.json()["evaluation_id"], {"validation_failed"})
    assert any(f["rule"].startswith("TRIAL") for f in record["findings"])


async def test_spinning_script_is_killed_for_timeout_and_nothing_survives(stack: Stack) -> None:
    # The trial's own timeout would reject it first; keep the spin out of the trial.
    script = SPIN.replace("while True:", f"while {REAL_RUN}:")
    response = await stack.submit(script, config={"timeout_s": 3})
    evaluation_id = response.json()["evaluation_id"]
    record = await stack.wait_for(evaluation_id, {"killed"}, timeout_s=300)
    assert record["violation"]["kind"] == "timeout"
    assert 'evalpod_kills{kind="timeout"}' in (await stack.http.get(stack.url + "/metrics")).text
    assert processes_of_job(evaluation_id) == []


async def test_syntax_error_is_rejected_and_nothing_is_stored(stack: Stack) -> None:
    before = await stack.count_evaluations()
    response = await stack.submit("def evaluate_model(model):\n    return {\n")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "INVALID_SCRIPT"
    assert error["detail"]["line"] >= 1
    assert await stack.count_evaluations() == before


async def test_cancel_executing_kills_it_and_is_idempotent(stack: Stack) -> None:
    response = await stack.submit(SLOW.replace("range(600)", f"range(600 if {REAL_RUN} else 1)"),
                                  config={"timeout_s": 120})
    evaluation_id = response.json()["evaluation_id"]
    await stack.wait_for(evaluation_id, {"executing"})
    await asyncio.sleep(2.0)
    first = await stack.http.post(f"/evaluations/{evaluation_id}/cancel")
    assert first.status_code == 200 and first.json()["status"] == "cancelled"
    second = await stack.http.post(f"/evaluations/{evaluation_id}/cancel")
    assert second.status_code == 200 and second.json()["status"] == "cancelled"
    for _ in range(50):
        if not processes_of_job(evaluation_id):
            break
        await asyncio.sleep(0.1)
    assert processes_of_job(evaluation_id) == []
    events = await _sse(stack, evaluation_id)
    assert events[-1].event == "end" and events[-1].data == "cancelled"
    record = (await stack.http.get(f"/evaluations/{evaluation_id}")).json()
    assert record["status"] == "cancelled"


async def test_cancel_during_validation_stops_the_trial_run(stack: Stack) -> None:
    response = await stack.submit("import time\n\ndef evaluate_model(model):\n"
                                  "    time.sleep(15)\n    return {}\n")
    evaluation_id = response.json()["evaluation_id"]
    trial = f"{evaluation_id}-trial"
    for _ in range(200):
        if processes_of_job(trial):
            break
        await asyncio.sleep(0.05)
    assert processes_of_job(trial), "the trial run never started"
    cancelled = await stack.http.post(f"/evaluations/{evaluation_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    for _ in range(40):
        if not processes_of_job(trial):
            break
        await asyncio.sleep(0.05)
    assert processes_of_job(trial) == []
    record = (await stack.http.get(f"/evaluations/{evaluation_id}")).json()
    assert record["status"] == "cancelled"


async def test_cancel_of_a_finished_evaluation_is_a_conflict(stack: Stack) -> None:
    response = await stack.submit(CHATTY)
    evaluation_id = response.json()["evaluation_id"]
    await stack.wait_for(evaluation_id, {"succeeded"})
    conflict = await stack.http.post(f"/evaluations/{evaluation_id}/cancel")
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "JOB_ALREADY_COMPLETED"


async def test_sse_delivers_every_line_in_order_and_resumes(stack: Stack) -> None:
    response = await stack.submit(CHATTY)
    evaluation_id = response.json()["evaluation_id"]
    await stack.wait_for(evaluation_id, {"succeeded"})
    events = await _sse(stack, evaluation_id)
    logs = [e for e in events if e.event == "log"]
    printed = [e.data for e in logs if e.data.startswith("line ")]
    assert printed == [f"line {i:03d}" for i in range(50)]
    assert events[-1].event == "end" and events[-1].data == "succeeded"
    assert all(e.id for e in logs)
    resume_at = next(e for e in logs if e.data == "line 009")
    resumed = await _sse(stack, evaluation_id, last_event_id=resume_at.id)
    assert [e.data for e in resumed if e.event == "log" and e.data.startswith("line ")] == [
        f"line {i:03d}" for i in range(10, 50)
    ]
    assert resumed[-1].event == "end"


async def test_sse_streams_live_while_the_job_runs(stack: Stack) -> None:
    response = await stack.submit(SLOW.replace("range(600)", f"range(30 if {REAL_RUN} else 1)"))
    evaluation_id = response.json()["evaluation_id"]
    await stack.wait_for(evaluation_id, {"executing"})
    seen_while_running = False
    async with stack.http.stream("GET", f"/evaluations/{evaluation_id}/logs") as stream:
        async for line in stream.aiter_lines():
            if line.startswith("data: ") and '"text": "tick' in line:
                status = (await stack.http.get(f"/evaluations/{evaluation_id}/status")).json()
                seen_while_running = seen_while_running or status["status"] == "executing"
            if line.startswith("event: end"):
                break
    assert seen_while_running


async def test_other_tenants_see_404(stack: Stack) -> None:
    from evalpod.db import get_database
    from evalpod.keys import Role, create_key

    response = await stack.submit(CHATTY)
    evaluation_id = response.json()["evaluation_id"]
    async with get_database(stack.settings.database_dsn()).session() as session:
        _, other_key = await create_key(session, "other-tenant", Role.submitter)
    async with httpx.AsyncClient(base_url=stack.url + "/api/v1",
                                 headers={"Authorization": f"Bearer {other_key}"}) as other:
        for method, path in [("GET", ""), ("GET", "/status"), ("POST", "/cancel"),
                             ("GET", "/logs")]:
            answer = await other.request(method, f"/evaluations/{evaluation_id}{path}")
            assert answer.status_code == 404, (method, path)
            assert answer.json()["error"]["code"] == "JOB_NOT_FOUND"
    await stack.wait_for(evaluation_id, {"succeeded"})


async def _sse(stack: Stack, evaluation_id: str, last_event_id: str | None = None) -> list:
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    async with aconnect_sse(stack.http, "GET", f"/evaluations/{evaluation_id}/logs",
                            headers=headers) as source:
        assert source.response.status_code == 200
        assert source.response.headers["content-type"].startswith("text/event-stream")
        events = [event async for event in source.aiter_sse()]
    return _run_lines(events)


def _run_lines(events: list[ServerSentEvent]) -> list[ServerSentEvent]:
    """The run's events, each `log` event's data replaced by its text (docs/api.md: a log
    event's data is a JSON object; the trial's lines, also in the log, are left out)."""
    kept = []
    for event in events:
        if event.event == "log":
            line = parse_log_data(event.data)
            if line.phase == "trial":
                continue
            event = ServerSentEvent(event.event, line.text, event.id, event.retry)
        kept.append(event)
    return kept
