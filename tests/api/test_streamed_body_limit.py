"""A body sent without a Content-Length (chunked) is counted as it streams in: past the
app's body limit the request is refused with 413 in the envelope, without the rest of the
body being read, whoever sends it. Streamed dataset uploads have their own, larger cap."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

from api.observe import body_limit_bytes

CHUNK = 64 * 1024


class Chunks:
    """A chunked request body: `head`, `count` chunks of filler, `tail`; counts what was read."""

    def __init__(self, head: bytes, count: int, tail: bytes, filler: bytes = b"#") -> None:
        self.head, self.count, self.tail, self.filler = head, count, tail, filler
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.head
        for _ in range(self.count):
            self.sent += 1
            yield self.filler * CHUNK
        yield self.tail


def script_body(count: int) -> Chunks:
    return Chunks(b'{"model_id": "tiny-gpt2", "script": "def evaluate_model(model):\\n'
                  b'    return {}\\n', count, b'"}')


async def test_a_chunked_body_past_the_limit_is_refused_unread(
        client: httpx.AsyncClient, anonymous: httpx.AsyncClient, api_app: FastAPI) -> None:
    limit = body_limit_bytes(api_app.state.settings.max_script_bytes)
    total_chunks = 20 * limit // CHUNK  # 20 times the limit
    for http, path in ((client, "/evaluations"), (anonymous, "/api/v1/evaluations"),
                       (client, "/evaluations/validate"), (client, "/evaluations/batch")):
        body = script_body(total_chunks)
        response = await http.post(path, content=body,
                                   headers={"Content-Type": "application/json"})
        assert response.status_code == 413, (path, response.text)
        error = response.json()["error"]
        assert error["code"] == "PAYLOAD_TOO_LARGE"
        assert error["detail"] == {"limit_bytes": limit, "script_limit_bytes":
                                   api_app.state.settings.max_script_bytes}
        assert body.sent <= limit // CHUNK + 2, (path, body.sent)


async def test_a_chunked_body_under_the_limit_is_served(client: httpx.AsyncClient) -> None:
    body = script_body(2)  # a long comment-free string is still a script: refused as such
    body.head = b'{"model_id": "tiny-gpt2", "script": "def evaluate_model(model):\\n    x = \''
    body.tail = b'\'\\n    return {}\\n"}'
    body.filler = b"a"
    response = await client.post("/evaluations", content=body,
                                  headers={"Content-Type": "application/json"})
    assert response.status_code == 202, response.text


async def test_a_dataset_upload_streams_past_the_app_limit(client: httpx.AsyncClient,
                                                           api_app: FastAPI) -> None:
    limit = body_limit_bytes(api_app.state.settings.max_script_bytes)
    name = f"big-{uuid.uuid4().hex[:8]}"
    created = await client.post("/datasets", json={"name": name})
    assert created.status_code == 201, created.text
    row = b'{"id": "%d", "text": "' + b"x" * 1000 + b'"}\n'
    rows = Chunks(b"", 0, b"")
    count = 3 * limit // len(row)

    async def lines() -> AsyncIterator[bytes]:
        for i in range(count):
            rows.sent += 1
            yield row.replace(b"%d", str(i).encode())

    response = await client.post(f"/datasets/{name}/versions?format=jsonl", content=lines())
    assert response.status_code == 202, response.text
    assert rows.sent == count
    assert response.json()["size_bytes"] > limit
