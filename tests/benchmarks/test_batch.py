"""POST /evaluations/batch: each submission accepted or refused on its own."""

from __future__ import annotations

import uuid

from tests.datasets.conftest import DataStack

OK = "def evaluate_model(model):\n    return {'ok': 1}\n"
BAD = "import subprocess\ndef evaluate_model(model):\n    return {}\n"


async def test_batch_answers_each_item_on_its_own(datastack: DataStack) -> None:
    key = uuid.uuid4().hex
    items = [
        {"model_id": "tiny-gpt2", "script": OK, "idempotency_key": key},
        {"model_id": "tiny-gpt2", "script": BAD},
        {"model_id": "tiny-gpt2", "script": BAD, "priority": 1},
        {"model_id": "no-such-model", "script": OK},
        {"model_id": "tiny-gpt2", "script": OK, "config": {"timeout_s": -1}},
        {"model_id": "tiny-gpt2", "script": OK, "idempotency_key": key},
    ]
    answer = await datastack.http.post("/evaluations/batch", json={"submissions": items})
    assert answer.status_code == 200, answer.text
    out = answer.json()["items"]
    assert [i["status_code"] for i in out] == [202, 400, 400, 400, 422, 200]
    assert out[0]["evaluation_id"] and out[5]["evaluation_id"] == out[0]["evaluation_id"]
    assert [i["error"]["error"]["code"] for i in out[1:5]] == [
        "FORBIDDEN_PATTERN", "FORBIDDEN_PATTERN", "MODEL_NOT_FOUND", "INVALID_CONFIG"]
    assert answer.json()["accepted"] == 2
    too_many = await datastack.http.post("/evaluations/batch",
                                         json={"submissions": [items[0]] * 101})
    assert too_many.status_code == 422
