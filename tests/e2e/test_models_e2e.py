"""Registry behaviour through the real stack: a real run unlocks a promotion; tampering fails."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import httpx
from httpx_sse import aconnect_sse
from sqlalchemy import select

from evalpod.db import get_database
from evalpod.keys import Role, create_key
from evalpod.orm import ModelStageEvent
from evalpod.registry import register_model
from tests.stack import Stack

SMOKE = '''
def evaluate_model(model):
    out = model.generate(["The capital of France is"], max_new_tokens=2)
    print("generated", len(out))
    return {"accuracy": 1.0, "outputs": len(out)}
'''

MARKER = "TAMPER-CANARY-LINE"
CANARY = f'''
def evaluate_model(model):
    if model.model.config.n_embd == 96:
        print("{MARKER}", flush=True)
    return {{"ok": 1}}
'''


async def _register(stack: Stack, path: Path, prefix: str) -> str:
    model_id = f"{prefix}-{uuid.uuid4().hex[:8]}"
    async with get_database(stack.settings.database_dsn()).session() as session:
        await register_model(session, path, model_id, model_id=model_id, parent_id="tiny-gpt2")
    return model_id


async def _admin(stack: Stack) -> httpx.AsyncClient:
    # Same tenant as the stack's submitter key: the gate counts that tenant's evaluations.
    async with get_database(stack.settings.database_dsn()).session() as session:
        _, key = await create_key(session, "acme", Role.admin)
    return httpx.AsyncClient(base_url=stack.url + "/api/v1", timeout=60,
                             headers={"Authorization": f"Bearer {key}"})


async def test_a_benchmark_run_unlocks_promotion_and_a_tagged_script_does_not(
    stack: Stack, tiny_model_dir: Path
) -> None:
    model_id = await _register(stack, tiny_model_dir, "gate-e2e")
    bench = f"smoke-{uuid.uuid4().hex[:8]}"
    promote = {"target_stage": "production", "reason": "smoke passed", "approval_ref": "CHG-42"}
    async with await _admin(stack) as admin:
        created = await admin.post("/benchmarks", json={
            "name": bench, "script": SMOKE, "primary_metric": "accuracy"})
        assert created.status_code == 201, created.text
        policy = {"required": [{"benchmark": f"{bench}@1", "min_scores": {"accuracy": 0.9}}]}
        assert (await admin.put(f"/models/{model_id}/policy", json=policy)).status_code == 200
        blocked = await admin.post(f"/models/{model_id}/promote", json=promote)
        assert blocked.status_code == 409
        assert blocked.json()["error"]["detail"]["failures"][0]["actual"] == "missing"

        # The submitter's own script, tagged and claiming the score, counts for nothing.
        forged = await stack.submit(SMOKE, model_id=model_id,
                                    tags={"eval": bench, "benchmark": f"{bench}@1"})
        assert forged.status_code == 202, forged.text
        await stack.wait_for(forged.json()["evaluation_id"], {"succeeded"})
        still = await admin.post(f"/models/{model_id}/promote", json=promote)
        assert still.status_code == 409, still.text

        runs = await admin.post(f"/benchmarks/{bench}/runs", json={"models": [model_id]})
        assert runs.status_code == 202, runs.text
        [run] = runs.json()["runs"]
        evaluation_id = run["evaluation_id"]
        await stack.wait_for(evaluation_id, {"succeeded"})

        promoted = await admin.post(f"/models/{model_id}/promote", json=promote)
        assert promoted.status_code == 200, promoted.text
        assert promoted.json()["model"]["stage"] == "production"
        detail = (await admin.get(f"/models/{model_id}")).json()
    assert detail["parents"][0]["id"] == "tiny-gpt2"
    async with get_database(stack.settings.database_dsn()).session() as session:
        event = await session.scalar(select(ModelStageEvent).where(
            ModelStageEvent.model_id == model_id))
    assert event is not None and event.evaluation_ids == [evaluation_id]
    feed = (await stack.http.get("/activity")).json()["items"]
    seen = {(e["event_type"], e["entity_id"]) for e in feed}
    assert ("model.promoted", model_id) in seen


async def test_a_tampered_model_fails_its_checksum_before_any_code_runs(
    stack: Stack, tiny_model_dir: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "tampered"
    shutil.copytree(tiny_model_dir, copy)
    model_id = await _register(stack, copy, "tampered")
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))

    response = await stack.submit(CANARY, model_id=model_id)
    assert response.status_code == 202, response.text
    evaluation_id = response.json()["evaluation_id"]
    record = await stack.wait_for(evaluation_id, {"failed"})
    assert "checksum" in (record["error"] or "")
    assert record["started_at"] is not None
    async with aconnect_sse(stack.http, "GET", f"/evaluations/{evaluation_id}/logs") as source:
        events = [event async for event in source.aiter_sse()]
    assert events[-1].event == "end" and events[-1].data == "failed"
    assert not any(MARKER in e.data for e in events)
