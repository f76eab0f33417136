"""Every page of the dashboard as a new user meets it: no console error and no failed
request anywhere, the address bar follows the page (Back and Forward too), the header names
the tenant, the icon is served, a finished evaluation offers no Cancel, the trial's bars
leave the live area once the run starts, and the leaderboard fits a 1280 px window."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from evalpod.db import get_database
from evalpod.keys import Role, create_key
from tests.stack import Stack

expect = pytest.importorskip(
    "playwright.async_api", reason="the playwright package is not installed "
    "(pip install -e '.[dev]')").expect

TIMEOUT_MS = 240_000  # a trial and a run each load torch and a model: slow on a busy host
expect.set_options(timeout=20_000)
VIEWPORT = {"width": 1280, "height": 800}
# A script with a progress bar, in its trial and its run, long enough to be watched.
SCRIPT = """import time


def evaluate_model(model):
    for i in range(25):
        time.sleep(0.2)
        model.progress(i + 1, 25, description="questions")
    return {"n_questions": 25}
"""
BENCHMARK = """def evaluate_model(model):
    return {"accuracy": 0.75, "accuracy_stderr": 0.0123456, "f1": 0.5, "n_questions": 25}
"""


@dataclass
class Problems:
    """What a page must never show: console errors, script errors, 4xx/5xx, failed requests."""

    seen: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> None:
        def console(message: Any) -> None:
            if message.type == "error":
                self.seen.append(f"console error at {page.url}: {message.text} "
                                 f"{message.location}")

        def response(answer: Any) -> None:
            if answer.status >= 400:
                self.seen.append(f"{answer.status} {answer.request.method} {answer.url}")

        page.on("console", console)
        page.on("pageerror", lambda e: self.seen.append(f"script error at {page.url}: {e}"))
        page.on("response", response)
        page.on("requestfailed", self._failed)

    def _failed(self, request: Any) -> None:
        # The page closes a log stream itself (at its `end` event, or on leaving the page):
        # an aborted event stream, which the console does not report, is no failure.
        if request.url.endswith("/logs") and request.failure == "net::ERR_ABORTED":
            return
        self.seen.append(f"failed {request.method} {request.url}: {request.failure}")


# What sticks out of the page's content column (outside boxes that scroll on their own),
# and how wide the document is.
OVERFLOW = """() => {
  const right = document.querySelector("main").getBoundingClientRect().right;
  const out = [...document.querySelectorAll("#view *")]
    .filter((e) => !(e.parentElement && e.parentElement.closest(".table-scroll, pre, ol.script")))
    .filter((e) => e.getBoundingClientRect().right > right + 1)
    .map((e) => e.outerHTML.slice(0, 120));
  return [document.documentElement.scrollWidth, out];
}"""


async def look(page: Any, path: Path) -> None:
    """A screenshot, after checking that nothing on the page is wider than the window."""
    width, out = await page.evaluate(OVERFLOW)
    assert width <= VIEWPORT["width"] and out == [], (page.url, width, out)
    await page.screenshot(path=path)


async def sign_in(page: Any, key: str) -> None:
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Evaluations")).to_be_visible()


async def admin_key(stack: Stack) -> str:
    async with get_database(stack.settings.database_dsn()).session() as session:
        _, key = await create_key(session, "acme", Role.admin)  # the submitter's tenant
    return key


async def test_every_page_without_console_errors_or_failed_requests(
    chromium: Any, web_stack: Stack, screens: Path,
) -> None:
    """Screenshots of each page at 1280x800 as it goes: page-*.png."""
    name = f"web-pages-{uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient(base_url=web_stack.url + "/api/v1", timeout=60, headers={
            "Authorization": f"Bearer {await admin_key(web_stack)}"}) as admin:
        created = await admin.post("/benchmarks", json={
            "name": name, "primary_metric": "accuracy", "script": BENCHMARK})
        assert created.status_code == 201, created.text
        runs = await admin.post(f"/benchmarks/{name}/runs", json={"models": ["tiny-gpt2"]})
        assert runs.status_code == 202, runs.text
    submitted = await web_stack.submit(SCRIPT, config={"timeout_s": 120})
    assert submitted.status_code == 202, submitted.text
    evaluation_id = submitted.json()["evaluation_id"]

    context = await chromium.new_context(base_url=web_stack.url, viewport=VIEWPORT)
    page = await context.new_page()
    page.set_default_timeout(30_000)
    problems = Problems()
    problems.watch(page)

    # Signed out, "/" goes to the form without a 401 on the way; signing in shows the
    # evaluations in the address bar as well as on the page.
    await page.goto("/")
    await expect(page).to_have_url(re.compile(r"/#/signin$"))
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    await expect(page.locator("#nav")).to_be_hidden()  # its links lead back here anyway
    await look(page, screens / "page-signin.png")
    await sign_in(page, web_stack.key)
    await expect(page).to_have_url(re.compile(r"/#/evaluations$"))
    await expect(page.locator("#who")).to_have_text("acme · submitter")
    await look(page, screens / "page-evaluations.png")

    # The running evaluation: live, with Cancel; the trial's bar is no longer live once
    # the run reports.
    await page.goto(f"/#/evaluations/{evaluation_id}")
    run_bar = page.locator("#progress .live .progress-row[data-bar='run:0']")
    await expect(run_bar).to_be_visible(timeout=TIMEOUT_MS)
    await expect(page.locator("#cancel")).to_be_visible()
    await expect(page.locator("#progress .live [data-bar^='trial:']")).to_have_count(0)
    done = page.locator("#progress details.done-bars")
    await expect(done.locator("summary")).to_have_text("Trial run finished · 1 bar")
    await expect(done.locator("[data-bar='trial:0']")).to_be_hidden()  # collapsed
    await look(page, screens / "page-evaluation-running.png")
    # Finished: no Cancel, faded or not.
    await expect(page.locator(".row .status")).to_have_text("succeeded", timeout=TIMEOUT_MS)
    await expect(page.locator("#stream-state")).to_have_text("ended: succeeded")
    await expect(page.locator("#cancel")).to_have_count(0)
    await expect(run_bar.locator(".detail")).to_contain_text("25/25 (100%)")
    await look(page, screens / "page-evaluation-finished.png")

    # Each other page, reached by its link as a person would.
    for link, heading in [("Evaluations", "Evaluations"), ("Submit", "Submit a script"),
                          ("Models", "Models"), ("Benchmarks", "Benchmarks")]:
        await page.get_by_role("link", name=link, exact=True).click()
        await expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        await look(page, screens / f"page-{link.lower()}.png")
    bench_run = runs.json()["runs"][0]["evaluation_id"]
    await web_stack.wait_for(bench_run, {"succeeded"})
    await page.get_by_role("link", name=name).click()
    board = page.locator("#leaderboard")
    await expect(board.locator("tr[data-model='tiny-gpt2']")).to_be_visible()
    # The run's own stderr once, in its column; its count as an integer.
    await expect(board.locator("thead")).not_to_contain_text("accuracy_stderr")
    await expect(board.locator("tbody td")).to_contain_text(["1", "tiny-gpt2", "0.75", "0.01235",
                                                              "0.5", "25"])
    await look(page, screens / "page-leaderboard.png")
    await page.get_by_role("link", name="tiny-gpt2").click()
    await expect(page.get_by_role("heading", name="Stage history")).to_be_visible()
    run_item = page.locator(f"li:has(a[href='#/evaluations/{bench_run}'])")
    await expect(run_item.locator(".metrics")).to_have_text(
        "accuracy 0.75 ± 0.01235 · f1 0.5 · n_questions 25")
    await look(page, screens / "page-model.png")
    await page.get_by_role("link", name=re.compile("^Activity")).click()
    await expect(page.get_by_role("heading", name="Activity")).to_be_visible()
    # In the feed's table (the model page before it links the evaluation too).
    await expect(page.locator(f"tbody a[href='#/evaluations/{evaluation_id}']").first
                 ).to_be_visible()
    await look(page, screens / "page-activity.png")

    # Back and Forward walk the same pages, address bar and content together.
    await page.go_back()
    await expect(page).to_have_url(re.compile(r"#/models/tiny-gpt2$"))
    await expect(page.get_by_role("heading", name="Stage history")).to_be_visible()
    await page.go_back()
    await expect(page).to_have_url(re.compile(rf"#/benchmarks/{name}%401$"))
    await expect(page.locator("#leaderboard")).to_be_visible()
    await page.go_forward()
    await expect(page.get_by_role("heading", name="Stage history")).to_be_visible()

    # Reloaded signed in: straight to the page, the tenant named again.
    await page.reload()
    await expect(page.get_by_role("heading", name="Stage history")).to_be_visible()
    await expect(page.locator("#who")).to_have_text("acme · submitter")
    await page.wait_for_timeout(1000)  # late requests (the header's, the feed's) land
    assert problems.seen == []
    await context.close()


async def test_signing_in_returns_to_the_asked_page_and_back_does_not_reopen_the_form(
    chromium: Any, web_stack: Stack,
) -> None:
    context = await chromium.new_context(base_url=web_stack.url, viewport=VIEWPORT)
    page = await context.new_page()
    problems = Problems()
    problems.watch(page)
    await page.goto("/")  # a history entry before the dashboard's
    await page.goto("/#/models")
    await expect(page).to_have_url(re.compile(r"/#/signin$"))
    await page.get_by_label("API key").fill(web_stack.key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/#/models$"))
    await expect(page.get_by_role("heading", name="Models")).to_be_visible()
    # The form is not in the history: Back leaves it out. And signed in, #/signin is the
    # evaluations (a bookmark of the form, say).
    await page.goto("/#/signin")
    await expect(page).to_have_url(re.compile(r"/#/evaluations$"))
    await expect(page.get_by_role("heading", name="Evaluations")).to_be_visible()
    assert problems.seen == []
    await context.close()


async def test_the_icon_is_served_and_linked(chromium: Any, web_stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=web_stack.url) as client:
        icon = await client.get("/favicon.ico")
        linked = await client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
    assert linked.status_code == 200 and linked.content == icon.content
    context = await chromium.new_context(base_url=web_stack.url)
    page = await context.new_page()
    await page.goto("/#/signin")
    href = await page.locator("link[rel=icon]").get_attribute("href")
    assert href == "/static/favicon.svg"
    # The page may load it (CSP img-src 'self'): drawn, it has a size.
    size = await page.evaluate("""(href) => new Promise((ok) => {
      const img = new Image(); img.onload = () => ok([img.naturalWidth, img.naturalHeight]);
      img.onerror = () => ok(null); img.src = href; })""", href)
    assert size is not None and size[0] > 0
    await context.close()


LONG_MODEL = "org-with-a-long-name/" + "very-long-model-name-" * 4 + "v2"
LEADERBOARD = {
    "benchmark": "wide@1", "benchmark_id": "bm_1", "primary_metric": "accuracy",
    "direction": "higher",
    "rows": [{
        "rank": 1, "model_id": LONG_MODEL, "score": 0.75, "stderr": 0.0123456,
        "metrics": {"accuracy": 0.75, "accuracy_stderr": 0.0123456, "n_questions": 12.0,
                    "perplexity": 32964.123, "tiny": 0.0000123,
                    "hellaswag/acc_norm,none": 0.3333333, "hellaswag/acc_norm_stderr,none": 0.01,
                    **{f"squad_v2/exact_match_with_a_long_qualifier_{i}": 0.5 for i in range(5)}},
        "evaluation_id": "ev_" + "0123456789abcdef" * 2, "evaluation_url": "",
        "finished_at": "2026-01-01T00:00:00Z"}],
}


async def test_the_leaderboard_shows_numbers_as_numbers_and_fits_1280_px(
    chromium: Any, web_stack: Stack, screens: Path,
) -> None:
    """The server is stood in for (page.route): long ids and names on cue."""
    context = await chromium.new_context(base_url=web_stack.url, viewport=VIEWPORT)
    page = await context.new_page()
    await page.goto("/#/signin")
    await sign_in(page, web_stack.key)
    await page.route("**/api/v1/benchmarks/wide%401/leaderboard",
                     lambda route: route.fulfill(json=LEADERBOARD))
    await page.goto("/#/benchmarks/wide%401")
    table = page.locator("#leaderboard")
    await expect(table).to_be_visible()
    heads = await table.locator("th").all_inner_texts()
    # Each standard error once: the primary's in its column, the others with their metric.
    assert not [h for h in heads if "stderr" in h and h != "±\xa0stderr"], heads
    assert heads.count("±\xa0stderr") == 1
    cells = dict(zip(heads, await table.locator("tbody tr td").all_inner_texts(), strict=True))
    assert cells["accuracy"] == "0.75" and cells["±\xa0stderr"] == "0.01235"
    assert cells["n_questions"] == "12"  # a count, not 12.0000
    assert cells["perplexity"] == "32,964.12" and cells["tiny"] == "1.23e-5"
    assert cells["hellaswag/acc_norm,none"] == "0.3333 ± 0.01"
    # The page does not overflow the window; long values are cut with the whole in a title.
    assert await page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT["width"]
    box = await page.locator(".table-scroll").bounding_box()
    assert box["x"] + box["width"] <= VIEWPORT["width"]
    model = table.locator(f"a[href='#/models/{LONG_MODEL.replace('/', '%2F')}'] .clip")
    assert await model.get_attribute("title") == LONG_MODEL
    assert await model.evaluate("e => e.scrollWidth > e.clientWidth")  # ellipsized
    await look(page, screens / "leaderboard-wide.png")
    await context.close()
