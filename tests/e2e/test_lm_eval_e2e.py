"""An lm_eval job on a shipped task, through the whole real stack, ends with metrics."""

from __future__ import annotations

import math

from tests.stack import Stack

TASK = "evalpod_arith"


async def test_lm_eval_job_on_a_shipped_task_succeeds_with_metrics(stack: Stack) -> None:
    listed = (await stack.http.get("/lm-eval/tasks")).json()["tasks"]
    assert TASK in {t["name"] for t in listed}

    response = await stack.http.post("/evaluations", json={
        "kind": "lm_eval", "model_id": "tiny-gpt2", "tasks": [TASK], "limit": 5,
        "config": {"timeout_s": 300}})
    assert response.status_code == 202, response.text
    evaluation_id = response.json()["evaluation_id"]
    record = await stack.wait_for(evaluation_id, {"succeeded"}, timeout_s=300)

    metrics = record["result"]["tasks"][TASK]
    assert 0.0 <= metrics["acc"] <= 1.0 and math.isfinite(metrics["acc"])
    assert record["result"]["n_samples"][TASK] == 5
    detail = (await stack.http.get("/models/tiny-gpt2")).json()
    summary = next(e for e in detail["evaluations"] if e["evaluation_id"] == evaluation_id)
    assert summary["kind"] == "lm_eval" and summary["metrics"][f"{TASK}/acc"] == metrics["acc"]
