"""Progress through the real stack (#14.3): a script's tqdm bar and `model.progress()` run in
the sandbox and arrive as `progress` SSE events while the job runs, trial and run."""

from __future__ import annotations

import json

from httpx_sse import ServerSentEvent, aconnect_sse

from evalpod.logs.progress import MARKER, Progress, parse_progress_data
from tests.stack import Stack

SCRIPT = '''
import time
from tqdm import tqdm


def evaluate_model(model):
    total = 0
    for i in tqdm(range(12), desc="tqdm loop"):
        time.sleep(0.1)
        total += i
    for i in range(8):
        time.sleep(0.1)
        model.progress(i + 1, 8, description="helper loop")
    print("finished", total)
    return {"total": total}
'''


async def _follow(stack: Stack, evaluation_id: str) -> list[ServerSentEvent]:
    events: list[ServerSentEvent] = []
    async with aconnect_sse(stack.http, "GET", f"/evaluations/{evaluation_id}/logs",
                            timeout=None) as source:
        async for event in source.aiter_sse():
            events.append(event)
            if event.event == "end":
                break
    return events


def _bar(events: list[ServerSentEvent], phase: str, label: str) -> list[Progress]:
    found = [parse_progress_data(e.data) for e in events if e.event == "progress"]
    return [p for p in found if p is not None and p.phase == phase and p.description == label]


async def test_tqdm_and_the_progress_helper_stream_progress_events(stack: Stack) -> None:
    response = await stack.submit(SCRIPT, config={"timeout_s": 120})
    assert response.status_code == 202, response.text
    evaluation_id = response.json()["evaluation_id"]
    events = await _follow(stack, evaluation_id)  # from submit on: the trial, then the run
    lines = [json.loads(e.data)["text"] for e in events if e.event == "log"]
    record = await stack.wait_for(evaluation_id, {"succeeded", "validation_failed", "failed"})
    assert record["status"] == "succeeded", (record["findings"], record["error"], lines[-6:])
    assert record["result"] == {"total": 66}
    assert events[-1].event == "end" and events[-1].data == "succeeded"
    for phase in ("trial", "run"):
        for label, total in (("tqdm loop", 12), ("helper loop", 8)):
            bar = _bar(events, phase, label)
            # The bar moved: several reports, done rising to the total, an estimate on the way.
            assert len(bar) >= 3, (phase, label, bar)
            dones = [p.done for p in bar]
            assert dones == sorted(dones) and dones[-1] == total and bar[-1].final
            assert any(p.eta_s is not None and p.eta_s > 0 for p in bar[:-1]), bar
            assert bar[-1].rate is not None and bar[-1].rate > 0
    assert "finished 66" in lines
    # Reports are events, never lines, and no bar was drawn into the log.
    assert not any(MARKER.strip() in line or "\u2402evalpod" in line or "\r" in line
                   or "%|" in line for line in lines), lines
