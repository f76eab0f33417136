"""Submit's own handler for plain JSON requests (`api.evaluations._SubmitRoute`) answers
exactly as FastAPI's handler does, which still serves every other request: the same status,
the same body, the same envelope for each refusal. FastAPI's handler is reached with a
JSON media type other than application/json (`application/vnd.evalpod+json`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import routing

GOOD = "def evaluate_model(model):\n    return {'accuracy': 1.0}\n"
PLAIN = "application/json"
OTHER = "application/vnd.evalpod+json"


@pytest.fixture
def solved(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The paths of the requests FastAPI solved dependencies for."""
    calls: list[str] = []
    original = routing.solve_dependencies

    async def counting(*, request: Any, **kwargs: Any) -> Any:
        calls.append(request.url.path)
        return await original(request=request, **kwargs)

    monkeypatch.setattr(routing, "solve_dependencies", counting)
    yield calls


async def post(client: httpx.AsyncClient, body: Any, media_type: str) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await client.post("/evaluations", content=content,
                             headers={"Content-Type": media_type})


def comparable(response: httpx.Response) -> tuple[int, str, Any]:
    """Status, media type and body, less what differs between two requests by design."""
    body = response.json()
    body.pop("evaluation_id", None)
    body.pop("queue_position", None)
    if isinstance(body.get("error"), dict):
        body["error"].pop("request_id", None)
    return response.status_code, response.headers["content-type"], body


async def test_a_plain_submit_skips_dependency_solving(client: httpx.AsyncClient,
                                                       solved: list[str]) -> None:
    body = {"model_id": "tiny-gpt2", "script": GOOD}
    fast = await post(client, body, PLAIN)
    assert fast.status_code == 202, fast.text
    assert solved == []
    standard = await post(client, body, OTHER)
    assert solved == ["/api/v1/evaluations"]
    assert comparable(fast) == comparable(standard)
    assert fast.json()["evaluation_id"] != standard.json()["evaluation_id"]
    for response in (fast, standard):
        stored = await client.get(f"/evaluations/{response.json()['evaluation_id']}")
        assert stored.json()["status"] == "pending_validation"


async def test_an_idempotent_retry_answers_200_with_the_first_id(
        client: httpx.AsyncClient, solved: list[str]) -> None:
    body = {"model_id": "tiny-gpt2", "script": GOOD, "idempotency_key": "route-twin"}
    first = await post(client, body, PLAIN)
    again = await post(client, body, PLAIN)
    through_fastapi = await post(client, body, OTHER)
    assert (first.status_code, again.status_code, through_fastapi.status_code) == (
        202, 200, 200)
    ids = {r.json()["evaluation_id"] for r in (first, again, through_fastapi)}
    assert len(ids) == 1
    assert solved == ["/api/v1/evaluations"]  # only the vnd+json one


REFUSED: list[Any] = [
    pytest.param({"model_id": "tiny-gpt2"}, id="no-script"),
    pytest.param({"model_id": "tiny-gpt2", "script": GOOD, "priority": True}, id="bool-int"),
    pytest.param({"model_id": "tiny-gpt2", "script": GOOD, "surprise": 1}, id="extra-field"),
    pytest.param(b'{"model_id": "tiny-gpt2", "script": "\\ud800"}', id="lone-surrogate"),
    pytest.param(b'{"model_id": "tiny-gpt2", "script": ', id="truncated-json"),
    pytest.param(b"", id="empty-body"),
    pytest.param([1, 2], id="not-an-object"),
    pytest.param({"model_id": "tiny-gpt2", "script": "def evaluate_model(:\n"}, id="syntax"),
    pytest.param({"model_id": "tiny-gpt2",
                  "script": "import os\ndef evaluate_model(model):\n    return {}\n"},
                 id="forbidden"),
    pytest.param({"model_id": "no-such-model", "script": GOOD}, id="unknown-model"),
    pytest.param({"model_id": "tiny-gpt2", "script": GOOD, "config": {"timeout_s": 10**9}},
                 id="config-past-limits"),
]


@pytest.mark.parametrize("body", REFUSED)
async def test_refusals_have_fastapis_shape(client: httpx.AsyncClient, body: Any) -> None:
    fast = await post(client, body, PLAIN)
    standard = await post(client, body, OTHER)
    assert fast.status_code >= 400
    assert comparable(fast) == comparable(standard)
    assert fast.json()["error"]["code"]


async def test_without_a_key_the_body_is_not_looked_at_first(
        anonymous: httpx.AsyncClient) -> None:
    for body in ({"model_id": "tiny-gpt2", "script": GOOD}, {"model_id": "tiny-gpt2"}):
        fast = await anonymous.post("/api/v1/evaluations", json=body)
        standard = await anonymous.post("/api/v1/evaluations", content=json.dumps(body),
                                        headers={"Content-Type": OTHER})
        assert fast.status_code == 401, fast.text
        assert comparable(fast) == comparable(standard)


@pytest.mark.parametrize("media_type", ["text/plain", "application/x-www-form-urlencoded"])
async def test_other_media_types_go_to_fastapi(client: httpx.AsyncClient, media_type: str,
                                               solved: list[str]) -> None:
    response = await post(client, {"model_id": "tiny-gpt2", "script": GOOD}, media_type)
    assert response.status_code == 422, response.text
    assert solved == ["/api/v1/evaluations"]
