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
