"""Text that cannot be sent back is refused at the edge: a lone surrogate in a JSON body.

`json.loads` accepts `"\\ud800"`; stored (a JSON column keeps it), it made every later
response carrying it a 500, a tenant's whole evaluation list among them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import select, update

from api.text import LONE_SURROGATE_MESSAGE, TextCheckedRoute
from evalpod.keys import Role
from evalpod.orm import ActivityEvent, Evaluation, Tenant
from tests.api.conftest import ClientFactory

SCRIPT = "def evaluate_model(model):\n    return {'accuracy': 1.0}\n"
MARK = "SURR"  # replaced, in the JSON text, by the escape of a lone surrogate
EVAL = {"model_id": "tiny-gpt2", "script": SCRIPT}
NO_MODEL = "/models/no-such-model"

# Every route with a JSON body: (method, path, body with MARK in a string value, the field
# the refusal names, body with MARK in a key, that field). `{ev}`, `{tenant}`, `{name}`:
# an evaluation and a tenant of the test's own, a fresh name. Model routes name a model
# that does not exist, so that a body let through changes nothing shared.
CASES: list[tuple[str, str, dict[str, Any], str, dict[str, Any], str]] = [
    ("POST", "/evaluations", {**EVAL, "tags": {"team": MARK}}, "tags.team",
     {**EVAL, "tags": {MARK: "v"}}, "tags.\\ud800"),
    ("POST", "/evaluations/validate", {**EVAL, "tags": {"team": MARK}}, "tags.team",
     {**EVAL, "tags": {MARK: "v"}}, "tags.\\ud800"),
    ("POST", "/evaluations/preflight", {**EVAL, "idempotency_key": MARK}, "idempotency_key",
     {**EVAL, "tags": {MARK: "v"}}, "tags.\\ud800"),
    ("POST", "/evaluations/batch", {"submissions": [EVAL, {**EVAL, "tags": {"k": MARK}}]},
     "submissions.1.tags.k", {"submissions": [{**EVAL, "tags": {MARK: "v"}}]},
     "submissions.0.tags.\\ud800"),
    ("POST", "/evaluations/{ev}/priority", {"priority": MARK}, "priority",
     {"priority": 1, MARK: 1}, "\\ud800"),
    ("PUT", NO_MODEL + "/policy",
     {"required": [{"name": MARK, "min_scores": {"a": 1}}]}, "required.0.name",
     {"required": [{"name": "t", "min_scores": {MARK: 1}}]}, "required.0.min_scores.\\ud800"),
    ("POST", NO_MODEL + "/promote", {"target_stage": "archived", "reason": MARK}, "reason",
     {"target_stage": "archived", "reason": "r", MARK: "x"}, "\\ud800"),
    ("POST", NO_MODEL + "/rollback", {"reason": "r", "approval_ref": MARK}, "approval_ref",
     {"reason": "r", MARK: "x"}, "\\ud800"),
    ("POST", "/activity/read", {"ids": [1], "all": MARK}, "all", {"all": True, MARK: 1},
     "\\ud800"),
    ("PUT", "/admin/tenants/{tenant}/policy", {"extra_allowed_imports": ["numpy", MARK]},
     "extra_allowed_imports.1", {"severity_overrides": {MARK: "warning"}},
     "severity_overrides.\\ud800"),
    ("PUT", "/admin/tenants/{tenant}/limits", {"requests_per_minute": MARK},
     "requests_per_minute", {"fair_share": 2, MARK: 1}, "\\ud800"),
    ("POST", "/admin/tenants/{tenant}/callback-secret", {"grace_s": MARK}, "grace_s",
     {"grace_s": 60, MARK: 1}, "\\ud800"),
    ("POST", "/datasets", {"name": "{name}", "description": MARK}, "description",
     {"name": "{name}", "description": "d", MARK: "x"}, "\\ud800"),
    ("POST", "/benchmarks", {"name": "{name}", "primary_metric": MARK, "script": SCRIPT},
     "primary_metric", {"name": "{name}", "primary_metric": "m", "script": SCRIPT,
                        "scorer": None, MARK: 1}, "\\ud800"),
    ("POST", "/benchmarks/{name}/runs", {"models": ["tiny-gpt2", MARK]}, "models.1",
     {"models": ["tiny-gpt2"], MARK: 1}, "\\ud800"),
    ("POST", "/session", {"api_key": MARK}, "api_key", {"api_key": "k", MARK: 1}, "\\ud800"),
]


def _json_text(body: dict[str, Any], **names: str) -> str:
    """`body` as JSON text, each MARK a lone surrogate's escape (json.dumps cannot write
    one from a str without also escaping its backslash)."""
    text = json.dumps(body)
    for name, value in names.items():
        text = text.replace("{" + name + "}", value)
    return text.replace(MARK, "\\ud800")


def _api_routes(app: FastAPI) -> list[tuple[str, APIRoute]]:
    """Each API route with its path as served (the routers' prefixes included)."""
    return [(context.path or "", context.original_route)
            for context in iter_route_contexts(app.routes)
            if isinstance(context.original_route, APIRoute)]


def _assert_refused(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "INVALID_CONFIG"
    assert error["detail"]["errors"] == [
        {"field": field, "message": LONE_SURROGATE_MESSAGE, "type": "string_unicode"}]


def test_every_route_checks_text_and_every_json_body_route_is_tested(api_app: FastAPI) -> None:
    routes = _api_routes(api_app)
    assert routes
    assert [path for path, route in routes if not isinstance(route, TextCheckedRoute)] == []
    with_body = {(method, path.removeprefix("/api/v1")) for path, route in routes
                 if route.body_field is not None for method in route.methods or ()}
    with_body.discard(("POST", "/datasets/{dataset}/versions"))  # a streamed file, not JSON
    tested = {(method, path.replace("{ev}", "{evaluation_id}").replace("{tenant}", "{tenant_id}")
               .replace(NO_MODEL, "/models/{model_id}").replace("{name}", "{benchmark}"))
              for method, path, *_ in CASES}
    assert with_body == tested


async def _fixture_names(make_client: ClientFactory) -> tuple[httpx.AsyncClient, dict[str, str]]:
    admin = await make_client(role=Role.admin)
    created = await admin.post("/evaluations", json=EVAL)
    assert created.status_code == 202, created.text
    names = {"ev": created.json()["evaluation_id"], "tenant": getattr(admin, "tenant_id"),  # noqa: B009
             "name": f"surr-{uuid.uuid4().hex[:8]}"}
    return admin, names


@pytest.mark.parametrize("in_key", [False, True], ids=["value", "key"])
async def test_every_json_body_route_refuses_a_lone_surrogate_and_stores_nothing(
    api_app: FastAPI, make_client: ClientFactory, in_key: bool
) -> None:
    admin, names = await _fixture_names(make_client)
    for method, path, value_body, value_field, key_body, key_field in CASES:
        body, field = (key_body, key_field) if in_key else (value_body, value_field)
        response = await admin.request(
            method, path.format(**names), content=_json_text(body, **names),
            headers={"content-type": "application/json"})
        _assert_refused(response, field)
    listed = (await admin.get("/evaluations")).json()["items"]
    assert [item["evaluation_id"] for item in listed] == [names["ev"]]
    assert (await admin.get(f"/evaluations/{names['ev']}")).json()["priority"] == 0
    assert (await admin.get(f"/datasets/{names['name']}")).status_code == 404
    assert (await admin.get(f"/benchmarks/{names['name']}")).status_code == 404
    async with api_app.state.db.session() as session:
        tenant = await session.get(Tenant, names["tenant"])
        assert tenant is not None and tenant.policy is None and tenant.limits is None


@pytest.mark.parametrize("encoding", ["utf-8-surrogatepass", "utf-16"])
async def test_a_lone_surrogate_in_the_bytes_of_the_body_is_refused_too(
    client: httpx.AsyncClient, encoding: str
) -> None:
    """`json.loads` decodes bytes with surrogatepass, and UTF-16 and UTF-32 as well."""
    text = json.dumps({**EVAL, "tags": {"k": "v"}}).replace('"v"', '"\ud800"')
    raw = (text.encode("utf-8", "surrogatepass") if encoding == "utf-8-surrogatepass"
           else text.encode("utf-16", "surrogatepass"))
    response = await client.post("/evaluations", content=raw,
                                 headers={"content-type": "application/json"})
    _assert_refused(response, "tags.k")
    assert (await client.get("/evaluations")).json()["items"] == []


@pytest.mark.parametrize("content_type", ["application/json", "application/evalpod+json"],
                         ids=["fast-path", "fastapi-path"])
async def test_surrogate_pairs_and_other_text_are_accepted_and_read_back_unchanged(
    make_client: ClientFactory, content_type: str
) -> None:
    admin = await make_client(role=Role.admin)
    tags = {"emoji": "\ud83d\ude00", "\u00fcn\u00ef": "\u65e5\u672c\u8a9e", "esc": "\\ud800"}
    text = json.dumps({**EVAL, "tags": tags})  # ASCII: the emoji as an escaped pair
    assert "\\ud83d\\ude00" in text
    created = await admin.post("/evaluations", content=text,
                               headers={"content-type": content_type})
    assert created.status_code == 202, created.text
    evaluation_id = created.json()["evaluation_id"]
    assert (await admin.get(f"/evaluations/{evaluation_id}")).json()["tags"] == {
        "emoji": "\U0001f600", "\u00fcn\u00ef": "\u65e5\u672c\u8a9e", "esc": "\\ud800"}
    assert (await admin.get("/evaluations")).json()["items"][0]["tags"]["emoji"] == "\U0001f600"

    name = f"pair-{uuid.uuid4().hex[:8]}"
    dataset = await admin.post("/datasets", content=json.dumps(
        {"name": name, "description": "\U0001f600 d\u00e9j\u00e0 vu"}),
        headers={"content-type": content_type})
    assert dataset.status_code == 201, dataset.text
    assert (await admin.get(f"/datasets/{name}")).json()["description"] == (
        "\U0001f600 d\u00e9j\u00e0 vu")


async def test_a_lone_surrogate_already_stored_is_sent_as_a_replacement_character(
    api_app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Rows stored before the edge refused them, and what a sandbox reports (a result's
    keys), are still served: each lone surrogate becomes U+FFFD, not a 500."""
    created = await client.post("/evaluations", json={**EVAL, "tags": {"k": "v"}})
    evaluation_id = created.json()["evaluation_id"]
    async with api_app.state.db.session() as session:
        await session.execute(update(Evaluation).where(Evaluation.id == evaluation_id).values(
            tags={"k": "a\ud800b", "\udfff": "v"}, result={"m\ud800": 1.0, "ok": "\U0001f600"}))
    async with api_app.state.db.session() as session:
        stored = (await session.execute(
            select(Evaluation.tags).where(Evaluation.id == evaluation_id))).scalar_one()
        assert stored == {"k": "a\ud800b", "\udfff": "v"}  # what the API must cope with

    got = await client.get(f"/evaluations/{evaluation_id}")
    assert got.status_code == 200, got.text
    assert got.json()["tags"] == {"k": "a\ufffdb", "\ufffd": "v"}
    assert got.json()["result"] == {"m\ufffd": 1.0, "ok": "\U0001f600"}
    listed = await client.get("/evaluations")
    assert listed.status_code == 200, listed.text
    assert listed.json()["items"][0]["tags"] == {"k": "a\ufffdb", "\ufffd": "v"}


async def test_the_activity_feed_serves_a_lone_surrogate_stored_in_its_data(
    api_app: FastAPI, client: httpx.AsyncClient
) -> None:
    async with api_app.state.db.session() as session:
        session.add(ActivityEvent(
            tenant_id=getattr(client, "tenant_id"), event_type="evaluation.finished",  # noqa: B009
            entity_type="evaluation", entity_id="ev_x", actor="test",
            data={"metrics": {"m\ud800": 1.0}}))
    feed = await client.get("/activity")
    assert feed.status_code == 200, feed.text
    assert feed.json()["items"][0]["data"] == {"metrics": {"m\ufffd": 1.0}}


async def test_undecodable_bytes_in_the_query_and_path_never_become_a_lone_surrogate(
    client: httpx.AsyncClient
) -> None:
    """The server and Starlette decode them with errors="replace" (U+FFFD)."""
    for url in ["/evaluations?tag=k%3A%ED%A0%80", "/datasets?q=%ED%A0%80",
                "/models?q=%ED%A0%80", "/activity?event_type=%ED%A0%80"]:
        response = await client.get(url)
        assert response.status_code == 200, (url, response.text)
    unknown = await client.get("/datasets/%ED%A0%80")
    assert unknown.status_code == 404, unknown.text


async def test_a_path_decoded_with_surrogates_is_refused_at_the_edge(api_app: FastAPI) -> None:
    """A server that decoded the path with surrogateescape would pass a lone surrogate on."""
    raw = b"/api/v1/datasets/\xed\xa0\x80"
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "server": ("test", 80), "client": None, "root_path": "",
        "path": raw.decode("utf-8", "surrogateescape"), "raw_path": raw, "query_string": b"",
        "headers": []}
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await api_app(scope, receive, send)
    assert sent[0]["status"] == 422
    error = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))["error"]
    assert error["code"] == "INVALID_CONFIG"
    assert error["detail"]["errors"][0]["message"] == LONE_SURROGATE_MESSAGE


async def test_a_refusal_naming_an_unencodable_key_is_itself_sendable() -> None:
    """A validation error's `loc` holds the client's keys: the envelope escapes them."""
    from fastapi.exceptions import RequestValidationError
    from starlette.requests import Request

    from api.errors import _on_validation_error

    exc = RequestValidationError([{"type": "string_too_long", "loc": ("body", "tags", "\udfff"),
                                   "msg": "too long", "input": None}])
    response = await _on_validation_error(Request({"type": "http"}), exc)
    assert response.status_code == 422
    fields = json.loads(bytes(response.body))["error"]["detail"]["errors"]
    assert [f["field"] for f in fields] == ["tags.\\udfff"]
