"""A refused request body says what the user can act on: a body past the body limit names
the script's cap (the number a user controls), and a body that is not a JSON object says
why (the decoder's message and where, or its content type) with field `body`, never a
field named by a character position."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from api.observe import body_limit_bytes
from tests.api.test_streamed_body_limit import script_body

ROUTES = ("/evaluations", "/evaluations/validate")


def body_refusal(error: dict[str, object], script_cap: int) -> None:
    limit = body_limit_bytes(script_cap)
    assert error["code"] == "PAYLOAD_TOO_LARGE", error
    assert error["message"] == (f"request body is over {limit} bytes (a script may be at "
                                f"most {script_cap} bytes)")
    assert error["detail"] == {"limit_bytes": limit, "script_limit_bytes": script_cap}
    assert f"at most {script_cap} bytes" in str(error["hint"])
    assert "size cap in detail" not in str(error["hint"])


async def test_a_1_mb_script_names_the_script_cap(client: httpx.AsyncClient,
                                                  api_app: FastAPI) -> None:
    cap = api_app.state.settings.max_script_bytes
    body = {"model_id": "tiny-gpt2", "script": "x = 1\n" * (1_000_000 // 6)}
    for path in ROUTES:  # refused by its Content-Length, before routing
        response = await client.post(path, json=body)
        assert response.status_code == 413, (path, response.text)
        body_refusal(response.json()["error"], cap)


async def test_a_chunked_body_past_the_limit_names_the_script_cap(
        client: httpx.AsyncClient, api_app: FastAPI) -> None:
    cap = api_app.state.settings.max_script_bytes
    for path in ROUTES:  # no Content-Length: refused as it streams in
        response = await client.post(path, content=script_body(40),
                                     headers={"Content-Type": "application/json"})
        assert response.status_code == 413, (path, response.text)
        body_refusal(response.json()["error"], cap)


async def test_a_script_past_its_cap_under_the_body_limit(client: httpx.AsyncClient,
                                                          api_app: FastAPI) -> None:
    """What docs/api.md says: past the script cap but within the body limit, submit
    answers 413 on the script and validate answers 200 with the finding."""
    cap = api_app.state.settings.max_script_bytes
    script = "x = 1\n" * (cap // 6 + 100)
    body = {"model_id": "tiny-gpt2", "script": script}
    submitted = await client.post("/evaluations", json=body)
    assert submitted.status_code == 413, submitted.text
    error = submitted.json()["error"]
    assert error["message"] == f"script is {len(script)} bytes; the limit is {cap}"
    validated = await client.post("/evaluations/validate", json=body)
    assert validated.status_code == 200, validated.text
    assert not validated.json()["valid"]
    assert "PAYLOAD_TOO_LARGE" in json.dumps(validated.json()["errors"])


def only_error(response: httpx.Response) -> dict[str, object]:
    error: dict[str, object] = response.json()["error"]
    assert error["code"] == "INVALID_CONFIG", error
    (field,) = error["detail"]["errors"]  # type: ignore[index]
    assert field["field"] == "body", error
    assert "Content-Type: application/json" in str(error["hint"])
    return error


@pytest.mark.parametrize(("body", "reason", "line", "column", "position"), [
    (b"{bad json", "Expecting property name enclosed in double quotes", 1, 2, 1),
    (b'{"model_id": "tiny-gpt2", "script": "x', "Unterminated string starting at", 1, 37, 36),
    (b'{"model_id": "tiny-gpt2",}', "Expecting property name enclosed in double quotes",
     1, 26, 25),
    (b'{"model_id": "\\q"}', "Invalid \\escape", 1, 15, 14),
    (b'{\n  "model_id": "tiny-gpt2",\n  "script": }', "Expecting value", 3, 13, 41),
    (b'{"model_id": "tiny-gpt2"} {}', "Extra data", 1, 27, 26),
])
async def test_malformed_json_names_the_decoder_error_and_where(
        client: httpx.AsyncClient, body: bytes, reason: str, line: int, column: int,
        position: int) -> None:
    for path in (*ROUTES, "/evaluations/batch", "/evaluations/preflight"):
        response = await client.post(path, content=body,
                                     headers={"Content-Type": "application/json"})
        assert response.status_code == 422, (path, response.text)
        error = only_error(response)
        where = f"{reason}: line {line} column {column} (char {position})"
        assert error["message"] == f"request body is not valid JSON: {where}", error
        assert error["detail"] == {"errors": [{
            "field": "body", "message": where, "type": "json_invalid", "line": line,
            "column": column, "position": position}]}


@pytest.mark.parametrize(("body", "headers", "status", "message"), [
    (b"", {"Content-Type": "application/json"}, 422,
     "request body is empty; send a JSON object"),
    (b'{"model_id": "tiny-gpt2"}', {"Content-Type": "text/plain"}, 422,
     "request body is sent as text/plain, not as JSON; send Content-Type: application/json"),
    (b'{"model_id": "tiny-gpt2"}', {}, 422, "request body is sent without a Content-Type, "
     "not as JSON; send Content-Type: application/json"),
    (b"[1, 2]", {"Content-Type": "application/json"}, 422,
     "request body must be a JSON object, not an array"),
    (b'"tiny-gpt2"', {"Content-Type": "application/json"}, 422,
     "request body must be a JSON object, not a string"),
    (b'{"model_id": "\xff"}', {"Content-Type": "application/json"}, 400,
     "request body is not valid UTF-8: invalid start byte at byte 14"),
])
async def test_a_body_that_is_not_a_json_object_says_why(
        client: httpx.AsyncClient, body: bytes, headers: dict[str, str], status: int,
        message: str) -> None:
    for path in ROUTES:
        response = await client.post(path, content=body, headers=headers)
        assert response.status_code == status, (path, response.text)
        assert only_error(response)["message"] == message


async def test_field_errors_inside_a_json_object_still_name_the_field(
        client: httpx.AsyncClient) -> None:
    response = await client.post("/evaluations", json={"model_id": "tiny-gpt2",
                                                       "script": 5})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert [e["field"] for e in error["detail"]["errors"]] == ["script"]
    assert error["message"] == "invalid request: script"


async def test_the_documented_body_refusal_is_the_one_sent(client: httpx.AsyncClient) -> None:
    docs = (Path(__file__).parents[2] / "docs" / "api.md").read_text()
    (block,) = [b.split("```", 1)[0] for b in docs.split("```json")[1:]
                if '"request body is over' in b]
    documented = json.loads(block.replace('"…"', '""'))["error"]
    response = await client.post("/evaluations/validate", content=b"{" + b" " * 600_000 + b"}",
                                 headers={"Content-Type": "application/json"})
    assert response.status_code == 413, response.text
    sent = response.json()["error"]
    assert {**sent, "timestamp": ""} == documented
