"""Fault 6's class: every value a client sends is parsed into a bounded type first.

Cursors, date filters, tags, ids, `Last-Event-ID` and headers answer 2xx or a 4xx
envelope, never a 500 or a broken stream, whatever their content.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.bounded import PageCursor, parse_datetime
from tests.api.conftest import ClientFactory

SCRIPT = "def evaluate_model(model):\n    return {'accuracy': 1.0}\n"
FAR_FUTURE = "9999-12-31T23:59:59.999999-23:59"  # the issue's example: past year 9999 in UTC
# Any text a client could put in a query value or header (lone surrogates cannot be encoded
# by a client at all).
CLIENT_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=300)
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                                    exclude_characters="\x7f"), max_size=300)
FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def assert_refused_or_served(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"], error


async def test_the_issue_cursor_and_dates_answer_without_a_500(client: httpx.AsyncClient) -> None:
    accepted = await client.post("/evaluations", json={"model_id": "tiny-gpt2", "script": SCRIPT})
    assert accepted.status_code == 202
    # The cursor of the old format holding the issue's timestamp: refused, with the envelope.
    old = base64.urlsafe_b64encode(json.dumps([FAR_FUTURE, "ev_x"]).encode()).decode()
    refused = await client.get("/evaluations", params={"cursor": old})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "INVALID_CONFIG"
    # The same instant as a filter is an instant past every stored one: served.
    before = await client.get("/evaluations", params={"created_before": FAR_FUTURE})
    assert before.status_code == 200 and before.json()["items"]
    after = await client.get("/evaluations", params={"created_after": FAR_FUTURE})
    assert after.status_code == 200 and after.json()["items"] == []
    # The largest cursor of the stated shape is a position after everything: served.
    largest = await client.get("/evaluations", params={"cursor": "9" * 19 + "~ev_x"})
    assert largest.status_code == 200 and largest.json()["items"]
    smallest = await client.get("/evaluations", params={"cursor": "-" + "9" * 19 + "~ev_x"})
    assert smallest.status_code == 200 and smallest.json()["items"] == []


@pytest.mark.parametrize("value", ["0.5", "0", "1700000000", "2026-01-01", "true",
                                   "2026-01-01T00:00:00", "2026-13-01T00:00:00Z"])
async def test_dates_are_rfc3339_not_coerced(client: httpx.AsyncClient, value: str) -> None:
    response = await client.get("/evaluations", params={"created_before": value})
    assert response.status_code == 422, (value, response.text)
    assert response.json()["error"]["code"] == "INVALID_CONFIG"


def test_datetime_parsing_clamps_and_keeps_instants() -> None:
    assert parse_datetime(FAR_FUTURE) == datetime.max.replace(tzinfo=UTC)
    assert parse_datetime("0001-01-01T00:00:00+23:59") == datetime.min.replace(tzinfo=UTC)
    assert parse_datetime("2026-01-31t12:00:60.1234567z") == datetime(
        2026, 1, 31, 12, 0, 59, 123456, tzinfo=UTC)
    assert parse_datetime("2026-01-31T12:00:00+02:00") == datetime(2026, 1, 31, 10,
                                                                    tzinfo=UTC)


@given(st.datetimes(timezones=st.just(UTC)), st.text(alphabet="abcdef0123456789_", min_size=1,
                                                    max_size=40))
def test_cursor_round_trips(created_at: datetime, evaluation_id: str) -> None:
    cursor = PageCursor(created_at, "ev_" + evaluation_id)
    assert PageCursor.decode(cursor.encode()) == cursor


@FUZZ
@given(name=st.sampled_from(["cursor", "created_after", "created_before", "tag", "model_id",
                             "status", "limit"]), value=CLIENT_TEXT)
async def test_any_listing_parameter_is_refused_or_served(
    client: httpx.AsyncClient, name: str, value: str
) -> None:
    assert_refused_or_served(await client.get("/evaluations", params={name: value}))


@FUZZ
@given(evaluation_id=CLIENT_TEXT.filter(lambda s: s not in {"", ".", ".."}))
async def test_any_evaluation_id_is_refused_or_not_found(
    client: httpx.AsyncClient, evaluation_id: str
) -> None:
    for path in ("", "/status", "/logs"):
        response = await client.get(f"/evaluations/{quote(evaluation_id, safe='')}{path}")
        assert_refused_or_served(response)
        # 307: an id that decodes to "/" makes a path the router redirects (no slash)
        assert response.status_code in (307, 400, 404, 422), response.text


@FUZZ
@given(header=HEADER_TEXT)
async def test_any_authorization_header_is_a_401(
    make_client: ClientFactory, header: str
) -> None:
    client = await make_client()
    response = await client.get("/evaluations", headers={"Authorization": header.encode("latin-1")})
    assert response.status_code == 401 and response.json()["error"]["code"] == "UNAUTHORIZED"


async def _cancelled(client: httpx.AsyncClient) -> str:
    body: dict[str, Any] = {"model_id": "tiny-gpt2", "script": SCRIPT}
    evaluation_id: str = (await client.post("/evaluations", json=body)).json()["evaluation_id"]
    assert (await client.post(f"/evaluations/{evaluation_id}/cancel")).status_code == 200
    return evaluation_id


@pytest.fixture
async def finished(client: httpx.AsyncClient) -> str:
    return await _cancelled(client)


@FUZZ
@given(last_event_id=HEADER_TEXT)
async def test_any_last_event_id_resumes_or_is_ignored(
    client: httpx.AsyncClient, finished: str, last_event_id: str
) -> None:
    """A finished evaluation's stream always ends with its `end` event."""
    async with client.stream("GET", f"/evaluations/{finished}/logs",
                             headers={"Last-Event-ID": last_event_id.encode("latin-1")}
                             ) as response:
        assert response.status_code == 200
        text = (await response.aread()).decode()
    assert "event: end" in text, text[-500:]


@pytest.mark.parametrize("change", [
    {"priority": False}, {"priority": "5"}, {"priority": 1.5}, {"config": {"timeout_s": True}},
    {"config": {"gpus": "0"}}, {"config": {"cpus": True}}, {"num_fewshot": None},
    {"callback_url": ""}, {"callback_url": "ftp://example.com/x"},
    {"callback_url": "https://user:pw@example.com/"}, {"tags": {"": "x"}},
    {"tags": {"k": "v" * 257}}, {"script": None},
], ids=repr)
async def test_submit_refuses_coercions_and_unstated_rules(
    client: httpx.AsyncClient, change: dict[str, Any]
) -> None:
    """The issue's coercions (`"priority": false`...) and rules now stated in the schema."""
    body = {"model_id": "tiny-gpt2", "script": SCRIPT, **change}
    for path in ("/evaluations", "/evaluations/validate"):
        response = await client.post(path, json=body)
        assert response.status_code == 422, (path, change, response.text)
        assert response.json()["error"]["code"] == "INVALID_CONFIG"


async def test_json_integers_with_a_zero_fraction_are_integers(client: httpx.AsyncClient
                                                               ) -> None:
    body = {"model_id": "tiny-gpt2", "script": SCRIPT, "priority": 0.0,
            "config": {"timeout_s": 60.0, "cpus": 1}}
    assert (await client.post("/evaluations/validate", json=body)).status_code == 200


# -- the document states every rule the server applies -------------------------------------

# JSON Schema's names for pydantic's bounds: a bound pydantic cannot place (a constraint on
# a union, or after a validator) shows up under its own name and constrains nothing.
NOT_JSON_SCHEMA = {"ge", "le", "gt", "lt", "min_length", "max_length", "multiple_of",
                   "allow_inf_nan", "strict", "max_digits", "decimal_places",
                   # pydantic's rendering of a pattern on dict keys: names not matching it
                   # are left unconstrained, not refused as the server does
                   "patternProperties"}


def _keywords(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = set(node)
        for key, value in node.items():
            if key not in ("properties", "examples", "example", "default", "const", "enum"):
                found |= _keywords(value)
            elif key == "properties":
                found |= set().union(*map(_keywords, value.values()))
        return found
    if isinstance(node, list):
        return set().union(set(), *map(_keywords, node))
    return set()


async def test_the_document_uses_json_schema_keywords_only(client: httpx.AsyncClient) -> None:
    document = (await client.get("http://test/api/openapi.json")).json()
    assert not _keywords(document["components"]) & NOT_JSON_SCHEMA
    assert not _keywords(document["paths"]) & NOT_JSON_SCHEMA


async def test_the_document_states_this_servers_limits(client: httpx.AsyncClient,
                                                       api_app: Any) -> None:
    settings = api_app.state.settings
    document = (await client.get("http://test/api/openapi.json")).json()
    config = document["components"]["schemas"]["RunConfig"]["properties"]
    assert config["memory_mb"]["maximum"] == settings.max_memory_mb
    assert config["timeout_s"]["maximum"] == settings.max_timeout_s
    assert config["gpus"]["maximum"] == api_app.state.gpu_count == 2
    for path in ("/evaluations", "/evaluations/validate", "/evaluations/preflight"):
        past = await client.post(path, json={"model_id": "tiny-gpt2", "script": SCRIPT,
                                             "config": {"memory_mb": settings.max_memory_mb + 1}})
        assert past.status_code == 422, (path, past.text)
        assert past.json()["error"]["detail"]["errors"][0]["field"] == "config.memory_mb"


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator({**schema, "components": document["components"]})


def _body_schema(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    body: dict[str, Any] = document["paths"]["/api/v1" + path][method]["requestBody"]
    return body["content"]["application/json"]["schema"]  # type: ignore[no-any-return]


V, X = True, False  # schema-valid (served), schema-invalid (refused)
BODIES: list[tuple[str, str, Any, bool]] = [
    # The disagreements schemathesis found: each is refused by schema and server alike,
    # or served by both.
    ("/activity/read", "post", {}, X), ("/activity/read", "post", {"all": 0}, X),
    ("/activity/read", "post", {"all": True}, V), ("/activity/read", "post", {"ids": [1]}, V),
    ("/activity/read", "post", {"ids": [], "all": True}, V),
    ("/activity/read", "post", {"ids": [1], "all": True}, X),
    ("/activity/read", "post", {"ids": [True]}, X),
    ("/admin/tenants/{victim}/limits", "put", {"gpu_seconds_per_day": False}, X),
    ("/admin/tenants/{victim}/limits", "put", {"fair_share": 0.0}, X),
    ("/admin/tenants/{victim}/limits", "put", {"fair_share": 5e-324}, X),
    ("/admin/tenants/{victim}/limits", "put", {"requests_per_minute": "60"}, X),
    ("/admin/tenants/{victim}/limits", "put", {"requests_per_minute": 60.0,
                                               "fair_share": 2}, V),
    ("/admin/tenants/{victim}/policy", "put", {"disabled_rules": [""]}, X),
    ("/admin/tenants/{victim}/policy", "put", {"disabled_rules": ["EP001"]}, X),
    ("/admin/tenants/{victim}/policy", "put", {"extra_allowed_imports": ["os.path"]}, X),
    ("/admin/tenants/{victim}/policy", "put", {"disabled_rules": ["EP101", "B101", "B101"],
                                               "extra_allowed_imports": ["numpy"]}, V),
    ("/models/tiny-gpt2/policy", "put", {"required": [
        {"benchmark": "b@1", "lm_eval_task": "t", "min_scores": {"a": 1}}]}, X),
    ("/models/tiny-gpt2/policy", "put", {"required": [
        {"lm_eval_task": "t", "min_scores": {"": 1}}]}, X),
    ("/models/tiny-gpt2/policy", "put", {"required": [
        {"lm_eval_task": "t", "min_scores": {"a": True}}]}, X),
    ("/models/tiny-gpt2/policy", "put", {"required": [
        {"name": "t", "benchmark": "b@1", "min_scores": {"a": 1}}]}, V),
    ("/models/tiny-gpt2/policy", "put", {"required": [
        {"name": "t", "min_scores": {"a": 1}}, {"lm_eval_task": "t", "min_scores": {"a": 2}}]}, V),
    ("/benchmarks", "post", {"name": "b", "primary_metric": "m", "script": ""}, X),
    ("/benchmarks", "post", {"name": "b", "primary_metric": "m", "kind": "lm_eval"}, X),
    ("/benchmarks", "post", {"name": "b", "primary_metric": "m", "script": SCRIPT,
                             "scorer": {"metric": "f1", "dataset": "d", "column": "c"}}, X),
    ("/benchmarks", "post", {"name": "b", "primary_metric": "m", "script": SCRIPT,
                             "num_fewshot": "1"}, X),
    ("/evaluations/validate", "post", {"model_id": "tiny-gpt2", "script": SCRIPT,
                                       "config": {"gpus": 3}}, X),
    ("/evaluations/validate", "post", {"model_id": "tiny-gpt2", "script": SCRIPT,
                                       "datasets": ["no-version"]}, X),
    ("/evaluations/validate", "post", {"model_id": "tiny-gpt2", "kind": "lm_eval",
                                       "tasks": ["t"], "limit": 0}, X),
    ("/evaluations/validate", "post", {"model_id": "tiny-gpt2", "script": SCRIPT,
                                       "idempotency_key": "a\x00"}, X),
    ("/evaluations/validate", "post", {"model_id": "tiny-gpt2", "script": SCRIPT,
                                       "config": {"gpus": 2, "timeout_s": 60.0}}, V),
    # Stored text cannot hold NUL (PostgreSQL): the schema says so.
    ("/models/tiny-gpt2/promote", "post", {"target_stage": "archived",
                                           "reason": "bad\x00reason"}, X),
    ("/datasets", "post", {"name": "nul-description", "description": "a\x00"}, X),
    ("/models/tiny-gpt2/policy", "put", {"required": [
        {"lm_eval_task": "t\x00", "min_scores": {"a": 1}}]}, X),
    ("/models/tiny-gpt2/policy", "put", {"required": [
        {"lm_eval_task": "t", "min_scores": {"a\x00": 1}}]}, X),
]


async def test_schema_and_server_agree(make_client: ClientFactory) -> None:
    """For each body: valid against the document exactly when the server serves it."""
    from evalpod.keys import Role

    admin = await make_client(role=Role.admin)
    victim_tenant = getattr(await make_client(), "tenant_id")  # noqa: B009
    document = (await admin.get("http://test/api/openapi.json")).json()
    try:
        for path, method, body, valid in BODIES:
            schema = _body_schema(document, path.replace("{victim}", "{tenant_id}").replace(
                "/models/tiny-gpt2", "/models/{model_id}"), method)
            assert _validator(document, schema).is_valid(body) == valid, (path, body)
            response = await admin.request(method, path.format(victim=victim_tenant),
                                           json=body)
            assert (response.status_code < 400) == valid, (path, body, response.text)
            if not valid:
                assert response.json()["error"]["code"] == "INVALID_CONFIG", response.text
    finally:
        await admin.put("/models/tiny-gpt2/policy", json={"required": []})


@pytest.mark.parametrize(("cursor", "valid"), [("a~ds_1", V), ("Zz.-_~x", V), ("~x", X),
                                               ("eyJhIjoxfQ==", X), ("a~b~c", X)])
async def test_dataset_cursors_are_of_the_stated_shape(client: httpx.AsyncClient, cursor: str,
                                                       valid: bool) -> None:
    document = (await client.get("http://test/api/openapi.json")).json()
    parameter = next(p for p in document["paths"]["/api/v1/datasets"]["get"]["parameters"]
                     if p["name"] == "cursor")
    assert _validator(document, parameter["schema"]).is_valid(cursor) == valid
    response = await client.get("/datasets", params={"cursor": cursor})
    assert (response.status_code == 200) == valid, response.text


async def test_an_empty_hidden_column_is_refused_by_the_schema(client: httpx.AsyncClient
                                                              ) -> None:
    created = await client.post("/datasets", json={"name": f"d-{id(client)}"})
    assert created.status_code == 201, created.text
    response = await client.post(f"/datasets/{created.json()['id']}/versions",
                                 params={"format": "jsonl", "hidden_column": ""},
                                 content=b'{"id": 1}\n')
    assert response.status_code == 422
    assert response.json()["error"]["detail"]["errors"][0]["field"] == "query.hidden_column.0"


async def test_every_path_and_query_string_states_its_characters(client: httpx.AsyncClient
                                                                 ) -> None:
    """The edge refuses NUL in any path or query value: each string parameter's pattern
    says which characters it takes."""
    document = (await client.get("http://test/api/openapi.json")).json()
    loose = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] not in ("path", "query"):
                    continue
                schema = parameter["schema"]
                for option in schema.get("anyOf", [schema]):
                    strings = [option, option.get("items", {})]
                    loose += [(method, path, parameter["name"]) for s in strings
                              if s.get("type") == "string" and "pattern" not in s]
    assert loose == []
    refused = await client.get("/models", params={"q": "a\x00"})
    assert refused.status_code in (400, 422) and refused.json()["error"]["code"] == (
        "INVALID_CONFIG")
