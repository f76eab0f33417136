"""GET /models and /models/{id}: filters, search, pagination, lineage, 404 envelope, policy."""

from __future__ import annotations

from evalpod.keys import Role
from tests.registry.conftest import Registry, unique


async def test_list_filters_searches_and_paginates(registry: Registry) -> None:
    tag = unique("lst")
    ids = [await registry.add_model(f"{tag}-{i}", family="llama" if i % 2 else "gpt2",
                                    stage="production" if i == 3 else "staging")
           for i in range(5)]
    await registry.add_model(unique("other"), name=f"named {tag.upper()} too", family="t5")
    async with registry.client(await registry.key(unique("t"))) as http:
        everything = (await http.get("/models", params={"q": tag})).json()
        assert [m["id"] for m in everything["items"]] == [*ids, everything["items"][5]["id"]]
        llamas = (await http.get("/models", params={"q": tag, "family": "llama"})).json()
        assert [m["id"] for m in llamas["items"]] == [ids[1], ids[3]]
        prod = (await http.get("/models", params={"q": tag, "stage": "production"})).json()
        assert [m["id"] for m in prod["items"]] == [ids[3]]
        by_family = (await http.get("/models", params={"q": "T5"})).json()
        assert any(m["family"] == "t5" for m in by_family["items"])
        wildcard = (await http.get("/models", params={"q": "%"})).json()
        assert wildcard["items"] == []
        seen: list[str] = []
        cursor: str | None = None
        while True:
            params: dict[str, str | int] = {"q": tag, "limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = (await http.get("/models", params=params)).json()
            assert len(page["items"]) <= 2
            seen += [m["id"] for m in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [m["id"] for m in everything["items"]]
        bad_stage = await http.get("/models", params={"stage": "qa"})
        assert bad_stage.status_code == 422
        assert bad_stage.json()["error"]["code"] == "INVALID_CONFIG"
    async with registry.client() as anonymous:
        denied = await anonymous.get("/models")
        assert denied.status_code == 401 and denied.json()["error"]["code"] == "UNAUTHORIZED"


async def test_unknown_model_is_404_model_not_found_envelope(registry: Registry) -> None:
    async with registry.client(await registry.key(unique("t"))) as http:
        response = await http.get("/models/no-such-model")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "MODEL_NOT_FOUND"
    assert error["detail"] == {"model_id": "no-such-model"}
    assert error["message"] and error["hint"] and error["timestamp"].endswith("Z")


async def test_detail_shows_lineage_and_only_the_callers_evaluations(registry: Registry) -> None:
    root = await registry.add_model(unique("root"))
    child = await registry.add_model(unique("child"), parent_id=root)
    grandchild = await registry.add_model(unique("grand"), parent_id=child)
    sibling = await registry.add_model(unique("sib"), parent_id=root)
    mine, theirs = unique("mine"), unique("theirs")
    my_eval = await registry.add_result(mine, child, {"accuracy": 0.75, "note": "text"},
                                        eval_tag="qa")
    lm_eval = await registry.add_result(
        mine, child, {"tasks": {"evalpod_arith": {"acc": 0.5, "acc_stderr": 0.1}}},
        kind="lm_eval")
    await registry.add_result(theirs, child, {"accuracy": 0.1}, eval_tag="qa")
    async with registry.client(await registry.key(mine)) as http:
        detail = (await http.get(f"/models/{child}")).json()
        leaf = (await http.get(f"/models/{grandchild}")).json()
        top = (await http.get(f"/models/{root}")).json()
    assert [p["id"] for p in detail["parents"]] == [root]
    assert [c["id"] for c in detail["children"]] == [grandchild]
    assert [p["id"] for p in leaf["parents"]] == [child, root]
    assert sorted(c["id"] for c in top["children"]) == sorted([child, sibling])
    evaluations = {e["evaluation_id"]: e for e in detail["evaluations"]}
    assert set(evaluations) == {my_eval, lm_eval}
    assert evaluations[my_eval]["metrics"] == {"accuracy": 0.75}
    assert evaluations[my_eval]["status"] == "succeeded"
    assert evaluations[my_eval]["finished_at"] is not None
    assert evaluations[lm_eval]["metrics"] == {"evalpod_arith/acc": 0.5}
    assert evaluations[lm_eval]["kind"] == "lm_eval"


async def test_policy_is_admin_only_and_validated(registry: Registry) -> None:
    model = await registry.add_model(unique("pol"))
    tenant = unique("t")
    policy = {"required": [{"name": "qa", "min_scores": {"accuracy": 0.8}}]}
    async with registry.client(await registry.key(tenant)) as submitter:
        forbidden = await submitter.put(f"/models/{model}/policy", json=policy)
        assert forbidden.status_code == 403
    async with registry.client(await registry.key(tenant, Role.admin)) as admin:
        for bad in ({"required": [{"name": "qa", "min_scores": {}}]},
                    {"required": [{"name": "qa", "min_scores": {"a": True}}]},
                    {"required": [{"name": "qa", "min_scores": {"": 1}}]},
                    {"required": [{"benchmark": "b@1", "lm_eval_task": "qa",
                                   "min_scores": {"a": 1}}]},
                    {"required": [{"name": "qa", "min_scores": {"a": "high"}}]}):
            rejected = await admin.put(f"/models/{model}/policy", json=bad)
            assert rejected.status_code == 422, bad
            assert rejected.json()["error"]["code"] == "INVALID_CONFIG"
        missing = await admin.put("/models/no-such-model/policy", json=policy)
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "MODEL_NOT_FOUND"
        saved = await admin.put(f"/models/{model}/policy", json=policy)
        assert saved.status_code == 200
        # A legacy `{"name": X}` requirement is stored as the lm-eval task it now means.
        stored = {"required": [{"benchmark": None, "lm_eval_task": "qa",
                                "min_scores": {"accuracy": 0.8}}]}
        assert saved.json()["evaluation_policy"] == stored
        shown = (await admin.get(f"/models/{model}")).json()
        assert shown["evaluation_policy"] == stored


async def test_lm_eval_task_registry_lists_shipped_tasks(registry: Registry) -> None:
    async with registry.client(await registry.key(unique("t"))) as http:
        response = await http.get("/lm-eval/tasks")
    assert response.status_code == 200
    tasks = {t["name"]: t for t in response.json()["tasks"]}
    assert tasks["evalpod_arith"]["output_type"] == "multiple_choice"
    assert tasks["evalpod_arith"]["description"]
    async with registry.client() as anonymous:
        assert (await anonymous.get("/lm-eval/tasks")).status_code == 401
