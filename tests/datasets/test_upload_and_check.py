"""Dataset registry: streamed upload, the in-sandbox check and its findings, listing, delete."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from evalpod.datasets import storage
from evalpod.orm import Tenant
from tests.datasets.conftest import DataStack

pytestmark = pytest.mark.slow

QA_ROWS = [{"id": f"q{i}", "question": f"What is {i} plus {i}?", "answer": str(2 * i)}
           for i in range(6)]


def jsonl(rows: Sequence[Mapping[str, object]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


async def test_good_upload_becomes_ready_with_schema_and_arrow(datastack: DataStack) -> None:
    name = unique("qa")
    version = await datastack.ready(name, jsonl(QA_ROWS), hidden_column="answer")
    assert version["row_count"] == 6 and version["splits"] == {"test": 6}
    assert version["hidden_columns"] == ["answer"]
    assert [c["name"] for c in version["columns"]] == ["id", "question", "answer"]
    assert version["statistics"]["columns"]["question"]["max_chars"] == len(QA_ROWS[-1]["question"])
    assert "answer" not in version["statistics"]["columns"]  # no hint of the answers
    root = storage.datasets_root(datastack.settings)
    stored = next(root.glob(f"*/{version['id']}"))
    public = pa.ipc.open_stream(pa.memory_map(str(stored / "public" / "test.arrow"))).read_all()
    assert public.column_names == ["id", "question"]
    hidden = pa.ipc.open_stream(pa.memory_map(str(stored / "hidden" / "test.arrow"))).read_all()
    assert hidden.column("answer").to_pylist() == [r["answer"] for r in QA_ROWS]


async def test_same_name_and_version_twice_is_409(datastack: DataStack) -> None:
    name = unique("dup")
    await datastack.ready(name, jsonl(QA_ROWS))
    again = await datastack.upload(name, jsonl(QA_ROWS), "jsonl", version="1")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "DATASET_VERSION_EXISTS"


def _parquet() -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table({"id": ["a", "b"], "text": ["x", "y"]}), sink)
    return sink.getvalue()


BAD_UPLOADS = [
    ("bad-encoding", b'{"id": "1", "text": "caf\xe9"}\n', "jsonl", "BAD_ENCODING"),
    ("ragged", b"id,text\n1,hello\n2,hello,extra\n", "csv", "RAGGED_CSV"),
    ("parquet", b"PAR1 this is not parquet at all PAR1", "parquet", "UNREADABLE_PARQUET"),
    ("empty", b"", "jsonl", "EMPTY_FILE"),
    ("dup-ids", jsonl([{"id": "1", "t": "a"}, {"id": "1", "t": "b"}]), "jsonl",
     "DUPLICATE_IDS"),
    ("bad-json", b'{"id": "1"}\n{"id": \n', "jsonl", "INVALID_JSON"),
]


@pytest.mark.parametrize(("label", "content", "fmt", "code"), BAD_UPLOADS,
                         ids=[b[0] for b in BAD_UPLOADS])
async def test_bad_upload_fails_with_its_finding(datastack: DataStack, label: str,
                                                 content: bytes, fmt: str, code: str) -> None:
    name = unique(label)
    await datastack.dataset(name)
    response = await datastack.upload(name, content, fmt, version="1")
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "processing"
    version = await datastack.wait_version(name, "1")
    assert version["status"] == "failed"
    assert code in [f["code"] for f in version["findings"]], version["findings"]


async def test_parquet_and_csv_are_read(datastack: DataStack) -> None:
    parquet = await datastack.ready(unique("pq"), _parquet(), "parquet")
    assert parquet["row_count"] == 2
    csv = await datastack.ready(unique("csv"), b"id,text\n1,a\n2,b\n", "csv")
    assert [c["name"] for c in csv["columns"]] == ["id", "text"]


async def test_upload_past_the_tenant_cap_is_507_and_leaves_nothing(datastack: DataStack
                                                                      ) -> None:
    from evalpod.db import get_database
    from tests.stack import Stack

    stack: Stack = datastack.stack
    async with get_database(datastack.settings.database_dsn()).session() as session:
        tenant = await session.scalar(select(Tenant).where(Tenant.name == "acme"))
        assert tenant is not None
        previous = tenant.limits
        tenant.limits = {**(tenant.limits or {}), "dataset_quota_bytes": 10_000}
    try:
        name = unique("big")
        await datastack.dataset(name)
        response = await datastack.upload(name, b"x" * 50_000, "jsonl", version="1")
        assert response.status_code == 507
        assert response.json()["error"]["code"] == "STORAGE_FULL"
        incoming = storage.datasets_root(stack.settings) / "incoming"
        assert list(incoming.glob("*.part")) == []
        listed = (await datastack.http.get(f"/datasets/{name}/versions")).json()
        assert listed == []
    finally:
        async with get_database(datastack.settings.database_dsn()).session() as session:
            tenant = await session.scalar(select(Tenant).where(Tenant.name == "acme"))
            assert tenant is not None
            tenant.limits = previous


async def test_listing_filters_paginates_and_soft_deletes(datastack: DataStack) -> None:
    tag = uuid.uuid4().hex[:6]
    for i in range(3):
        await datastack.dataset(f"list-{tag}-{i}", modality="text",
                                description="questions and answers")
    await datastack.dataset(f"list-{tag}-img", modality="image")
    first = (await datastack.http.get("/datasets", params={"q": tag, "modality": "text",
                                                          "limit": 2})).json()
    assert first["total"] == 3 and len(first["items"]) == 2 and first["next_cursor"]
    second = (await datastack.http.get("/datasets", params={
        "q": tag, "modality": "text", "limit": 2, "cursor": first["next_cursor"]})).json()
    names = [d["name"] for d in first["items"] + second["items"]]
    assert names == [f"list-{tag}-{i}" for i in range(3)] and second["next_cursor"] is None
    assert (await datastack.http.delete(f"/datasets/list-{tag}-0")).status_code == 204
    after = (await datastack.http.get("/datasets", params={"q": tag})).json()
    assert after["total"] == 3
    assert (await datastack.http.get(f"/datasets/list-{tag}-0")).status_code == 404


async def test_another_tenant_cannot_see_a_private_dataset(datastack: DataStack,
                                                           tmp_path: Path) -> None:
    from evalpod.db import get_database
    from evalpod.keys import Role, create_key

    name = unique("private")
    await datastack.dataset(name)
    async with get_database(datastack.settings.database_dsn()).session() as session:
        _, key = await create_key(session, f"other-{uuid.uuid4().hex[:6]}", Role.submitter)
    import httpx

    async with httpx.AsyncClient(base_url=datastack.stack.url + "/api/v1",
                                 headers={"Authorization": f"Bearer {key}"}) as other:
        assert (await other.get(f"/datasets/{name}")).status_code == 404
        upload = await other.post(f"/datasets/{name}/versions", content=b"{}\n",
                                  params={"format": "jsonl"})
        assert upload.status_code == 404


async def test_delete_keeps_files_a_benchmark_or_evaluation_needs(datastack: DataStack) -> None:
    import httpx

    from evalpod.db import get_database
    from evalpod.keys import Role, create_key

    async with get_database(datastack.settings.database_dsn()).session() as session:
        _, key = await create_key(session, "acme", Role.admin)
    kept, dropped = unique("kept"), unique("dropped")
    kept_version = await datastack.ready(kept, jsonl(QA_ROWS), hidden_column="answer")
    dropped_version = await datastack.ready(dropped, jsonl(QA_ROWS))
    async with httpx.AsyncClient(base_url=datastack.stack.url + "/api/v1", timeout=60,
                                 headers={"Authorization": f"Bearer {key}"}) as admin:
        created = await admin.post("/benchmarks", json={
            "name": unique("bench"), "datasets": [f"{kept}@1"], "primary_metric": "f1",
            "script": "def evaluate_model(model, data):\n    return {'predictions': {}}\n",
            "scorer": {"metric": "f1", "dataset": kept, "column": "answer"}})
        assert created.status_code == 201, created.text
        for name in (kept, dropped):
            assert (await admin.delete(f"/datasets/{name}/versions/1")).status_code == 204
    root = storage.datasets_root(datastack.settings)
    assert list(root.glob(f"*/{kept_version['id']}/public/test.arrow"))
    assert not list(root.glob(f"*/{dropped_version['id']}"))
    gone = await datastack.http.get(f"/datasets/{kept}/versions/1")
    assert gone.status_code == 404


async def test_listing_says_what_fits_a_model(datastack: DataStack) -> None:
    tag = uuid.uuid4().hex[:6]
    await datastack.ready(f"fit-{tag}-text", jsonl(QA_ROWS))
    await datastack.dataset(f"fit-{tag}-image", modality="image")
    long_text = "word " * 2000  # ~10k characters: past tiny-gpt2's context when tokenised
    await datastack.ready(f"fit-{tag}-long", jsonl([{"id": "1", "text": long_text}]))
    page = (await datastack.http.get("/datasets", params={
        "q": f"fit-{tag}", "compatible_with_model": "tiny-gpt2"})).json()
    verdicts = {d["name"].rsplit("-", 1)[1]: d["compatibility"] for d in page["items"]}
    assert verdicts["text"] == {"compatible": True, "warnings": [], "errors": []}
    assert not verdicts["image"]["compatible"] and "image" in verdicts["image"]["errors"][0]
    assert verdicts["long"]["compatible"] and "context" in verdicts["long"]["warnings"][0]
    unknown = await datastack.http.get("/datasets", params={"compatible_with_model": "nope"})
    assert unknown.status_code == 404
