"""Promotion gates, demotion within a lineage, rollback, and their audit rows."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import select

from evalpod.db import get_database
from evalpod.keys import Role
from evalpod.orm import ActivityEvent, ModelStageEvent
from tests.registry.conftest import Registry, unique


def _policy(benchmark: str) -> dict[str, Any]:
    return {"required": [
        {"benchmark": benchmark, "min_scores": {"accuracy": 0.8, "f1": 0.5}},
        {"lm_eval_task": "evalpod_arith", "min_scores": {"acc": 0.3}},
    ]}


def _scored(benchmark_id: str, **metrics: float) -> dict[str, Any]:
    """A benchmark run's result: the trusted scorer's metrics beside the script's own."""
    return {"metrics": metrics, "script": {}, "benchmark_id": benchmark_id}


def _promote(target: str = "production", **extra: Any) -> dict[str, Any]:
    return {"target_stage": target, "reason": "release", "approval_ref": "CHG-1", **extra}


async def _blocked(admin: httpx.AsyncClient, model: str) -> list[tuple[str, str, Any]]:
    response = await admin.post(f"/models/{model}/promote", json=_promote())
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "PROMOTION_BLOCKED"
    return sorted((f["requirement"], f["metric"], f["actual"]) for f in error["detail"]["failures"])


async def _stage_events(registry: Registry, model: str) -> list[ModelStageEvent]:
    async with get_database(registry.dsn).session() as session:
        rows = await session.scalars(select(ModelStageEvent).where(
            ModelStageEvent.model_id == model).order_by(ModelStageEvent.id))
        return list(rows)


async def _model_activity(registry: Registry, model: str) -> list[tuple[str, str]]:
    async with get_database(registry.dsn).session() as session:
        rows = await session.scalars(select(ActivityEvent).where(
            ActivityEvent.entity_type == "model", ActivityEvent.entity_id == model
        ).order_by(ActivityEvent.id))
        return [(r.event_type, r.data["to"]) for r in rows]


async def test_gate_blocks_until_the_latest_evaluations_meet_every_minimum(
    registry: Registry,
) -> None:
    tenant, outsider = unique("gate"), unique("outsider")
    model = await registry.add_model(unique("gated"))
    name = unique("qa")
    bench = await registry.add_benchmark(tenant, name)
    label = f"{name}@1"
    async with registry.client(await registry.key(tenant, Role.admin)) as admin:
        assert (await admin.put(f"/models/{model}/policy",
                                json=_policy(label))).status_code == 200
        assert await _blocked(admin, model) == [
            ("evalpod_arith", "acc", "missing"), (label, "accuracy", "missing"),
            (label, "f1", "missing")]
        # A submitter's script never counts, whatever it returns or is tagged with.
        await registry.add_result(tenant, model, {"accuracy": 1.0, "f1": 1.0}, eval_tag=name)
        await registry.add_result(tenant, model, _scored(bench, accuracy=1.0, f1=1.0),
                                  eval_tag=label)
        await registry.add_result(outsider, model, {"tasks": {"evalpod_arith": {"acc": 1.0}}},
                                  kind="lm_eval")
        assert await _blocked(admin, model) == [
            ("evalpod_arith", "acc", "missing"), (label, "accuracy", "missing"),
            (label, "f1", "missing")]
        await registry.add_result(tenant, model, _scored(bench, accuracy=0.9, f1=0.4),
                                  benchmark_id=bench)
        assert await _blocked(admin, model) == [
            ("evalpod_arith", "acc", "missing"), (label, "f1", 0.4)]
        # The benchmark's runs are the platform's: whichever admin started them counts.
        qa = await registry.add_result(outsider, model, _scored(bench, accuracy=0.95, f1=0.6),
                                       benchmark_id=bench)
        await registry.add_result(tenant, model, {"tasks": {"evalpod_arith": {"acc": 0.2}}},
                                  kind="lm_eval")
        assert await _blocked(admin, model) == [("evalpod_arith", "acc", 0.2)]
        arith = await registry.add_result(
            tenant, model, {"tasks": {"evalpod_arith": {"acc": 0.5}}}, kind="lm_eval")
        promoted = await admin.post(f"/models/{model}/promote", json=_promote())
        assert promoted.status_code == 200, promoted.text
        assert promoted.json()["model"]["stage"] == "production"
        # The latest run decides: a newer failing benchmark run blocks again.
        await registry.add_result(tenant, model, _scored(bench, accuracy=0.1, f1=0.9),
                                  benchmark_id=bench)
        assert (await admin.post(f"/models/{model}/promote",
                                 json=_promote("staging"))).status_code == 200
        assert await _blocked(admin, model) == [(label, "accuracy", 0.1)]
    [event, _] = await _stage_events(registry, model)
    assert (event.from_stage, event.to_stage, event.approval_ref) == ("staging", "production",
                                                                      "CHG-1")
    assert event.reason == "release" and event.actor.startswith("key_")
    assert event.evaluation_ids == [qa, arith]
    assert await _model_activity(registry, model) == [("model.promoted", "production"),
                                                      ("model.promoted", "staging")]


async def test_submitters_cannot_change_stages(registry: Registry) -> None:
    model = await registry.add_model(unique("nope"))
    async with registry.client(await registry.key(unique("t"))) as submitter:
        for path, body in ((f"/models/{model}/promote", _promote("archived")),
                           (f"/models/{model}/rollback", {"reason": "x"})):
            response = await submitter.post(path, json=body)
            assert response.status_code == 403
            assert response.json()["error"]["code"] == "FORBIDDEN"
    assert await _stage_events(registry, model) == []


async def test_production_demotes_the_lineage_and_rollback_restores(registry: Registry) -> None:
    tenant = unique("rel")
    v1 = await registry.add_model(unique("v1"))
    v2 = await registry.add_model(unique("v2"), parent_id=v1)
    v3 = await registry.add_model(unique("v3"), parent_id=v2)
    stranger = await registry.add_model(unique("other-line"), stage="production")
    async with registry.client(await registry.key(tenant, Role.admin)) as admin:
        async def stages() -> dict[str, str]:
            return {m: (await admin.get(f"/models/{m}")).json()["stage"]
                    for m in (v1, v2, v3, stranger)}

        none_yet = await admin.post(f"/models/{v2}/rollback", json={"reason": "oops"})
        assert none_yet.status_code == 409
        assert none_yet.json()["error"]["code"] == "ROLLBACK_UNAVAILABLE"
        assert (await admin.post(f"/models/{v1}/promote", json=_promote())).status_code == 200
        again = await admin.post(f"/models/{v1}/promote", json=_promote())
        assert again.status_code == 409 and again.json()["error"]["code"] == \
            "INVALID_STAGE_CHANGE"
        second = await admin.post(f"/models/{v3}/promote",
                                  json=_promote(demote_previous_to="archived"))
        assert second.status_code == 200
        assert second.json()["changes"] == [
            {"model_id": v3, "from_stage": "staging", "to_stage": "production"},
            {"model_id": v1, "from_stage": "production", "to_stage": "archived"}]
        assert await stages() == {v1: "archived", v2: "staging", v3: "production",
                                  stranger: "production"}
        back = await admin.post(f"/models/{v2}/rollback",
                                json={"reason": "v3 regressed", "approval_ref": "INC-7"})
        assert back.status_code == 200, back.text
        assert back.json()["model"]["id"] == v1
        assert await stages() == {v1: "production", v2: "staging", v3: "archived",
                                  stranger: "production"}
        detail = (await admin.get(f"/models/{v1}")).json()
        assert [(h["from_stage"], h["to_stage"]) for h in detail["stage_history"]] == [
            ("archived", "production"), ("production", "archived"), ("staging", "production")]
        assert detail["stage_history"][0]["approval_ref"] == "INC-7"
    assert [(e.to_stage, e.reason) for e in await _stage_events(registry, v3)] == [
        ("production", "release"), ("archived", "v3 regressed")]
    assert await _model_activity(registry, v1) == [
        ("model.promoted", "production"), ("model.demoted", "archived"),
        ("model.rolled_back", "production")]
    assert await _model_activity(registry, v3) == [
        ("model.promoted", "production"), ("model.demoted", "archived")]
    assert await _stage_events(registry, stranger) == []


async def test_unknown_model_stage_changes_are_404(registry: Registry) -> None:
    async with registry.client(await registry.key(unique("t"), Role.admin)) as admin:
        for path, body in (("/models/missing/promote", _promote()),
                           ("/models/missing/rollback", {"reason": "x"})):
            response = await admin.post(path, json=body)
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "MODEL_NOT_FOUND"


async def test_concurrent_promotions_leave_one_production_model(registry: Registry) -> None:
    root = await registry.add_model(unique("race"))
    members = [root] + [await registry.add_model(unique("race-v"), parent_id=root)
                        for _ in range(3)]
    async with registry.client(await registry.key(unique("t"), Role.admin)) as admin:
        answers = await asyncio.gather(*(
            admin.post(f"/models/{m}/promote", json=_promote()) for m in members))
        assert {a.status_code for a in answers} <= {200, 409}, [a.text for a in answers]
        assert any(a.status_code == 200 for a in answers)
        stages = [(await admin.get(f"/models/{m}")).json()["stage"] for m in members]
    assert stages.count("production") == 1


async def test_an_old_tag_policy_is_read_as_an_lm_eval_task_and_scripts_never_pass(
    registry: Registry,
) -> None:
    tenant = unique("legacy")
    model = await registry.add_model(unique("legacy-model"))
    async with registry.client(await registry.key(tenant, Role.admin)) as admin:
        legacy = {"required": [{"name": "qa", "min_scores": {"accuracy": 0.5}}]}
        stored = await admin.put(f"/models/{model}/policy", json=legacy)
        assert stored.status_code == 200
        assert stored.json()["evaluation_policy"]["required"][0]["lm_eval_task"] == "qa"
        await registry.add_result(tenant, model, {"accuracy": 1.0}, eval_tag="qa")
        assert await _blocked(admin, model) == [("qa", "accuracy", "missing")]
        both = {"required": [{"benchmark": "x@1", "lm_eval_task": "qa",
                              "min_scores": {"accuracy": 0.5}}]}
        assert (await admin.put(f"/models/{model}/policy", json=both)).status_code == 422
