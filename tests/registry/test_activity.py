"""GET /activity and POST /activity/read: per tenant only, newest first, unread tracking."""

from __future__ import annotations

from evalpod.keys import Role
from tests.registry.conftest import Registry, unique


async def test_feed_is_per_tenant_filtered_paginated_and_markable(registry: Registry) -> None:
    tenant, other = unique("feed"), unique("feed-other")
    model = await registry.add_model(unique("feed-model"))
    first = await registry.add_result(tenant, model, {"accuracy": 1.0}, eval_tag="qa")
    second = await registry.add_result(tenant, model, {"accuracy": 0.5}, eval_tag="qa")
    async with registry.client(await registry.key(tenant)) as http:
        feed = (await http.get("/activity")).json()
        kinds = [(e["event_type"], e["entity_id"]) for e in feed["items"]]
        assert kinds == [
            ("evaluation.finished", second), ("evaluation.validated", second),
            ("evaluation.submitted", second), ("evaluation.finished", first),
            ("evaluation.validated", first), ("evaluation.submitted", first)]
        assert feed["unread_count"] == 6 and feed["next_cursor"] is None
        finished = (await http.get("/activity", params={"event_type": "evaluation.finished"}))
        assert [e["entity_id"] for e in finished.json()["items"]] == [second, first]
        assert (await http.get("/activity", params={"entity_type": "model"})).json()[
            "items"] == []
        pages, cursor = [], None
        while True:
            params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
            page = (await http.get("/activity", params=params)).json()
            pages.append([e["id"] for e in page["items"]])
            if (cursor := page["next_cursor"]) is None:
                break
        assert [len(p) for p in pages] == [4, 2]
        assert [i for page in pages for i in page] == [e["id"] for e in feed["items"]]

        async with registry.client(await registry.key(other)) as stranger:
            assert (await stranger.get("/activity")).json()["items"] == []
            stolen = await stranger.post("/activity/read", json={"all": True})
            assert stolen.json() == {"marked": 0}
            targeted = await stranger.post("/activity/read", json={"ids": pages[0]})
            assert targeted.json() == {"marked": 0}

        marked = await http.post("/activity/read", json={"ids": pages[0][:2]})
        assert marked.json() == {"marked": 2}
        unread = (await http.get("/activity", params={"unread_only": True})).json()
        assert [e["id"] for e in unread["items"]] == pages[0][2:] + pages[1]
        assert unread["unread_count"] == 4
        read_items = [e for e in (await http.get("/activity")).json()["items"] if e["read_at"]]
        assert [e["id"] for e in read_items] == pages[0][:2]
        assert (await http.post("/activity/read", json={"all": True})).json() == {"marked": 4}
        after = (await http.get("/activity", params={"unread_only": True})).json()
        assert after["items"] == [] and after["unread_count"] == 0
        for bad in ({}, {"ids": [1], "all": True}):
            rejected = await http.post("/activity/read", json=bad)
            assert rejected.status_code == 422
            assert rejected.json()["error"]["code"] == "INVALID_CONFIG"


async def test_model_events_reach_the_promoting_tenant_only(registry: Registry) -> None:
    tenant, other = unique("ops"), unique("ops-other")
    model = await registry.add_model(unique("feed-prod"))
    async with registry.client(await registry.key(tenant, Role.admin)) as admin:
        body = {"target_stage": "production", "reason": "ship it", "approval_ref": "CHG-9"}
        assert (await admin.post(f"/models/{model}/promote", json=body)).status_code == 200
        events = (await admin.get("/activity", params={"entity_type": "model"})).json()["items"]
    assert [(e["event_type"], e["entity_id"]) for e in events] == [("model.promoted", model)]
    assert events[0]["data"]["approval_ref"] == "CHG-9"
    assert events[0]["data"]["to"] == "production"
    async with registry.client(await registry.key(other)) as stranger:
        assert (await stranger.get("/activity")).json()["items"] == []
