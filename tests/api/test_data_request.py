"""A script that reads `data` is refused at submit and validate when the submission does not
name its datasets (new user: the trial failed with a bare KeyError and no hint).

The check (`evalpod.preflight.check_data_request`) reads the entrypoint's signature and the
literal keys it reads from `data`; the SDK and the CLI say its hint in their own words.
"""

from __future__ import annotations

import ast
import uuid
from collections.abc import Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI

from evalpod import AsyncClient
from evalpod.cli.hints import for_cli
from evalpod.errors import InvalidConfig
from evalpod.keys import Role, create_key
from evalpod.preflight import DATA_HINT, check_data_request
from evalpod.sdk import errors

# The reported script: it reads data and was submitted without --dataset.
NEEDS_DATA = "def evaluate_model(model, data):\n    return {'n': len(data['quiz'])}\n"


@pytest.mark.parametrize(("script", "datasets", "refused"), [
    (NEEDS_DATA, None, "needs datasets, but this submission names none"),
    (NEEDS_DATA, [], "needs datasets"),
    ("def evaluate_model(model, rows, /):\n    return {}\n", None, "(model, rows)"),
    (NEEDS_DATA, ["quizz@1"], "reads data['quiz'], but this submission names no dataset"),
    (NEEDS_DATA, ["quiz@1"], None),
    (NEEDS_DATA, ["quiz@1", "other@2"], None),
    # Runs without data: a default, one parameter, or *args.
    ("def evaluate_model(model, data=None):\n    return {}\n", None, None),
    ("def evaluate_model(model):\n    return {}\n", None, None),
    ("def evaluate_model(model, *rest):\n    return {}\n", None, None),
    # A key that proves nothing: data rebound, or a nested function's own `data`.
    ("def evaluate_model(model, data):\n    data = {'x': 1}\n    return data['x']\n",
     ["quiz@1"], None),
    ("def evaluate_model(model, data):\n    f = lambda data: data['x']\n    return {}\n",
     ["quiz@1"], None),
    # Left to the quick screen: no entrypoint at all.
    ("x = 1\n", None, None),
])
def test_the_signature_and_the_named_datasets_must_agree(
        script: str, datasets: list[str] | None, refused: str | None) -> None:
    tree = ast.parse(script)
    if refused is None:
        check_data_request(tree, datasets)
        return
    with pytest.raises(InvalidConfig) as caught:
        check_data_request(tree, datasets)
    assert refused in caught.value.message
    assert caught.value.detail["errors"][0]["field"] == "datasets"
    assert caught.value.detail["line"] in (1, 2)


def test_the_cli_hint_names_the_dataset_option() -> None:
    shown = for_cli(DATA_HINT)
    assert "--dataset name@version" in shown and "`evalpod datasets list`" in shown
    assert "GET /" not in shown


SdkFactory = Callable[[], Awaitable[AsyncClient]]


@pytest.fixture
async def sdk(api_app: FastAPI) -> AsyncClient:
    async with api_app.state.db.session() as session:
        _, key = await create_key(session, f"data-{uuid.uuid4().hex[:8]}", Role.submitter)
    return AsyncClient("http://test", key, transport=httpx.ASGITransport(app=api_app))


async def test_submit_refuses_it_with_a_hint_naming_the_sdk_argument(sdk: AsyncClient) -> None:
    async with sdk:
        with pytest.raises(errors.InvalidConfig) as refused:
            await sdk.submit(NEEDS_DATA, model="tiny-gpt2")
        assert refused.value.status_code == 422
        assert "needs datasets" in refused.value.message
        assert "datasets=['name@version']" in refused.value.hint
        assert refused.value.detail["line"] == 1
        # A default for data: accepted without datasets (the harness keeps the default).
        accepted = await sdk.submit("def evaluate_model(model, data=None):\n    return {}\n",
                                    model="tiny-gpt2")
        assert accepted.status == "pending_validation"


async def test_validate_reports_it_and_passes_once_the_dataset_is_named(
        sdk: AsyncClient) -> None:
    async with sdk:
        report = await sdk.validate(NEEDS_DATA, model="tiny-gpt2")
        assert not report.valid
        [finding] = report.errors
        assert finding.rule == "INVALID_CONFIG" and finding.line == 1
        named = await sdk.validate(NEEDS_DATA, model="tiny-gpt2", datasets=["quiz@1"])
        assert not [f for f in named.errors if f.rule == "INVALID_CONFIG"], named.errors


async def test_batch_judges_each_submission_with_its_own_datasets(api_app: FastAPI) -> None:
    # The batch screens each script once: the verdict must not carry over to the same
    # script with other datasets.
    async with api_app.state.db.session() as session:
        _, key = await create_key(session, f"batch-{uuid.uuid4().hex[:8]}", Role.submitter)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api_app),
                                 base_url="http://test/api/v1",
                                 headers={"Authorization": f"Bearer {key}"}) as client:
        item = {"model_id": "tiny-gpt2", "script": NEEDS_DATA}
        response = await client.post("/evaluations/batch", json={"submissions": [
            item, item | {"datasets": ["quiz@1"]}]})
        assert response.status_code == 200, response.text
        first, second = response.json()["items"]
        assert first["error"]["error"]["code"] == "INVALID_CONFIG", first
        # No such dataset here: refused for that, not for the signature.
        assert second["error"]["error"]["code"] == "DATASET_NOT_FOUND", second


async def test_a_benchmark_whose_script_reads_data_needs_its_datasets() -> None:
    from evalpod.benchmarks.service import BenchmarkSpec, _analyse
    from evalpod.settings import get_settings

    spec = BenchmarkSpec(name="quiz-bench", primary_metric="n", script=NEEDS_DATA)
    with pytest.raises(InvalidConfig) as refused:
        await _analyse(spec, get_settings())
    assert "needs datasets" in refused.value.message
    with pytest.raises(InvalidConfig, match="names no dataset 'quiz'"):
        await _analyse(BenchmarkSpec(name="quiz-bench", primary_metric="n", script=NEEDS_DATA,
                                     datasets=["squad@1"]), get_settings())
