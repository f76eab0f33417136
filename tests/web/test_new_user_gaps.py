"""What a new user missed in the dashboard: naming datasets on the Submit page (and in its
dry-run), a benchmark run's scorer metrics on the model page, and activity rows that name
their dataset, model or benchmark (with rows for `models add` and `benchmarks create`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from evalpod.datasets.checking import create_worker
from evalpod.db import get_database
from evalpod.keys import ensure_tenant
from evalpod.orm import Evaluation, new_id, utcnow
from evalpod.registry import register_model
from tests.stack import Stack
from tests.web.test_pages import VIEWPORT, Problems, admin_key, look, sign_in

expect = pytest.importorskip(
    "playwright.async_api", reason="the playwright package is not installed "
    "(pip install -e '.[dev]')").expect

expect.set_options(timeout=20_000)
ROWS = [{"id": f"q{i}", "question": f"What is {i} plus {i}?", "answer": str(2 * i)}
        for i in range(4)]
DATA_SCRIPT = """def evaluate_model(model, data):
    return {"rows": len(data)}
"""
BENCHMARK = """def evaluate_model(model):
    return {"accuracy": 1.0}
"""


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


@contextlib.asynccontextmanager
async def dataset_checker(stack: Stack) -> AsyncIterator[None]:
    """The dataset check worker (the web stack does not run one): uploads become ready."""
    worker = create_worker(stack.settings)
    task = asyncio.create_task(worker.async_run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await worker.close()


async def upload(stack: Stack, name: str) -> None:
    created = await stack.http.post("/datasets", json={"name": name})
    assert created.status_code == 201, created.text
    content = "".join(json.dumps(r) + "\n" for r in ROWS).encode()
    uploaded = await stack.http.post(f"/datasets/{name}/versions", content=content,
                                     params={"format": "jsonl", "version": "1"})
    assert uploaded.status_code == 202, uploaded.text


async def wait_ready(stack: Stack, name: str, timeout_s: float = 120) -> None:
    for _ in range(int(timeout_s * 5)):
        body = (await stack.http.get(f"/datasets/{name}/versions/1")).json()
        if body["status"] != "processing":
            assert body["status"] == "ready", body
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{name}@1 is still processing")


async def signed_in_page(chromium: Any, stack: Stack) -> tuple[Any, Any, Problems]:
    context = await chromium.new_context(base_url=stack.url, viewport=VIEWPORT)
    page = await context.new_page()
    page.set_default_timeout(30_000)
    problems = Problems()
    problems.watch(page)
    await page.goto("/#/signin")
    await sign_in(page, stack.key)
    return context, page, problems


async def test_a_data_script_is_checked_and_submitted_with_its_datasets(
    chromium: Any, web_stack: Stack, screens: Path,
) -> None:
    name = unique("quiz")
    async with dataset_checker(web_stack):
        await upload(web_stack, name)
        await wait_ready(web_stack, name)
    context, page, problems = await signed_in_page(chromium, web_stack)
    await page.get_by_role("link", name="Submit", exact=True).click()
    datasets = page.get_by_label("Datasets")
    await expect(datasets.locator(f"option[value='{name}@1']")).to_have_count(1)
    await page.get_by_label("Script").fill(DATA_SCRIPT)

    # Without a dataset the dry-run says the script needs one; with it, the script is valid.
    await page.locator("#check").click()
    await expect(page.locator("#verdict")).to_have_text("Not valid.")
    await expect(page.locator("#findings")).to_contain_text("needs datasets")
    await datasets.select_option([f"{name}@1"])
    async with page.expect_request("**/evaluations/validate?deep=true") as checked:
        await page.locator("#check").click()
    assert (await checked.value).post_data_json["datasets"] == [f"{name}@1"]
    await expect(page.locator("#verdict")).to_have_text("Valid: no blocking findings.")
    await look(page, screens / "submit-datasets.png")

    await page.locator("#submit").click()
    await expect(page).to_have_url(re.compile(r"#/evaluations/ev_[0-9a-f]+$"))
    evaluation_id = page.url.rsplit("/", 1)[1]
    async with get_database(web_stack.settings.database_dsn()).session() as session:
        mounted = await session.scalar(select(Evaluation.dataset_versions)
                                       .where(Evaluation.id == evaluation_id))
    assert mounted and len(mounted) == 1
    await web_stack.http.post(f"/evaluations/{evaluation_id}/cancel")  # nothing to wait for
    assert problems.seen == []
    await context.close()


async def test_a_benchmark_scorer_run_shows_its_metrics_on_the_model_page(
    chromium: Any, web_stack: Stack,
) -> None:
    """The scorer's result is {metrics, script, benchmark_id}: its metrics are the run's."""
    async with httpx.AsyncClient(base_url=web_stack.url + "/api/v1", timeout=60, headers={
            "Authorization": f"Bearer {await admin_key(web_stack)}"}) as admin:
        created = await admin.post("/benchmarks", json={
            "name": unique("scored"), "primary_metric": "exact_match", "script": BENCHMARK})
        assert created.status_code == 201, created.text
    evaluation_id = new_id("ev")
    now = utcnow()
    async with get_database(web_stack.settings.database_dsn()).session() as session:
        tenant = await ensure_tenant(session, "acme")
        session.add(Evaluation(
            id=evaluation_id, tenant_id=tenant.id, model_id="tiny-gpt2", kind="script",
            script=BENCHMARK, tags={}, status="succeeded", created_at=now, updated_at=now,
            finished_at=now, benchmark_id=created.json()["id"],
            result={"metrics": {"exact_match": 0.75, "n": 4}, "script": {"rows": 4},
                    "benchmark_id": created.json()["id"]}))
    context, page, problems = await signed_in_page(chromium, web_stack)
    await page.goto("/#/models/tiny-gpt2")
    run = page.locator(f"li:has(a[href='#/evaluations/{evaluation_id}'])")
    await expect(run.locator(".metrics")).to_have_text("exact_match 0.75 · n 4")
    assert problems.seen == []
    await context.close()


async def test_activity_names_datasets_models_and_benchmarks(
    chromium: Any, web_stack: Stack, tiny_model_dir: Path, screens: Path,
) -> None:
    dataset, model, benchmark = unique("quiz"), unique("tiny-copy"), unique("bench")
    await upload(web_stack, dataset)  # dataset.created and dataset.version_uploaded
    async with get_database(web_stack.settings.database_dsn()).session() as session:
        await register_model(session, tiny_model_dir, model, actor="cli:test")
    async with httpx.AsyncClient(base_url=web_stack.url + "/api/v1", timeout=60, headers={
            "Authorization": f"Bearer {await admin_key(web_stack)}"}) as admin:
        created = await admin.post("/benchmarks", json={
            "name": benchmark, "primary_metric": "accuracy", "script": BENCHMARK})
        assert created.status_code == 201, created.text

    context, page, problems = await signed_in_page(chromium, web_stack)
    await page.get_by_role("link", name=re.compile("^Activity")).click()
    rows = page.locator("#view tbody tr")
    row = {kind: rows.filter(has_text=kind).filter(has_text=text).first for kind, text in [
        ("dataset.created", f"dataset {dataset}"),
        ("dataset.version_uploaded", f"dataset {dataset}@1"),
        ("model.registered", model), ("benchmark.created", f"benchmark {benchmark}@1")]}
    for kind, locator in row.items():
        await expect(locator, kind).to_be_visible()
    await expect(row["dataset.created"]).not_to_contain_text("ds_")
    await expect(row["model.registered"].locator("a")).to_have_attribute(
        "href", f"#/models/{model}")
    await expect(row["benchmark.created"].locator("a")).to_have_attribute(
        "href", f"#/benchmarks/{benchmark}%401")
    await look(page, screens / "activity-names.png")
    assert problems.seen == []
    await context.close()
