"""The dashboard in a real browser (#14.1): sign in with a key, dry-run a script and see its
findings at their lines, submit, watch the log stream live, cancel, sign out; a screenshot
of each page, and the leaderboard of a benchmark run."""

from __future__ import annotations

import re
import uuid
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

# True only in the real run: tiny-gpt2 is 96 wide, its shadow (the trial's model) 64.
REAL_RUN = "model.model.config.n_embd == 96"
SLOW = f"""import time

def evaluate_model(model):
    for i in range(600 if {REAL_RUN} else 1):
        print("tick", i, flush=True)
        time.sleep(0.1)
    return {{"done": 1}}
"""
FORBIDDEN = """import subprocess

def evaluate_model(model):
    subprocess.run(["ls"])
    return {}
"""
TIMEOUT_MS = 240_000  # a trial and a run each load torch and a model: slow on a busy host
# The page polls every 5 s (it shares the key's rate limit): give each expectation room.
expect.set_options(timeout=20_000)


async def test_sign_in_submit_watch_the_log_cancel_sign_out(
    chromium: Any, web_stack: Stack, screens: Path,
) -> None:
    context = await chromium.new_context(base_url=web_stack.url, viewport={
        "width": 1280, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    await page.goto("/")
    await expect(page).to_have_url(re.compile(r"#/signin$"))
    await page.screenshot(path=screens / "signin.png")
    await page.get_by_label("API key").fill("ep_wrong")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("That API key is not valid")
    await page.get_by_label("API key").fill(web_stack.key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Evaluations")).to_be_visible()

    # The key is nowhere in the page or its storage; the cookie is HttpOnly and Strict.
    assert web_stack.key not in await page.content()
    stored = await page.evaluate("JSON.stringify([{...localStorage}, {...sessionStorage}, "
                                 "document.cookie])")
    assert web_stack.key not in stored and "evalpod_session" not in stored
    (cookie,) = [c for c in await context.cookies() if c["name"] == "evalpod_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    # Dry run: the finding names its line, and clicking it selects that line in the editor.
    await page.get_by_role("link", name="Submit").click()
    editor = page.locator("textarea[name=script]")
    await editor.fill(FORBIDDEN)
    await page.locator("#check").click()
    await expect(page.locator("#verdict")).to_have_text("Not valid.")
    finding = page.locator("#findings li[data-line='1']").first
    await expect(finding).to_contain_text("subprocess")
    await page.screenshot(path=screens / "submit-findings.png", full_page=True)
    await finding.get_by_role("button").click()
    selected = await editor.evaluate("e => e.value.slice(e.selectionStart, e.selectionEnd)")
    assert selected == "import subprocess"

    await editor.fill(SLOW)
    await page.locator("#check").click()
    await expect(page.locator("#verdict")).to_have_text("Valid: no blocking findings.")
    await page.locator("#submit").click()
    await expect(page).to_have_url(re.compile(r"#/evaluations/[^/]+$"))
    evaluation_id = page.url.rsplit("/", 1)[1]

    # Lines arrive over EventSource while the job runs, and the status follows live.
    log = page.locator("#log")
    await expect(log).to_contain_text("tick 5", timeout=TIMEOUT_MS)
    await expect(page.locator(".row .status")).to_have_text("executing")
    await expect(page.locator("#stream-state")).to_have_text("live")
    await page.screenshot(path=screens / "evaluation-running.png", full_page=True)

    await page.locator("#cancel").click()
    await expect(page.locator(".row .status")).to_have_text("cancelled")
    await expect(page.locator("#stream-state")).to_have_text("ended: cancelled")
    await expect(page.locator("ol.timeline")).to_contain_text("cancelled")
    assert (await web_stack.http.get(f"/evaluations/{evaluation_id}/status")).json()[
        "status"] == "cancelled"
    await page.screenshot(path=screens / "evaluation-cancelled.png", full_page=True)

    # The list shows it with its status; filtering by another status hides it.
    await page.get_by_role("link", name="Evaluations").click()
    row = page.locator(f"tr[data-id='{evaluation_id}']")
    await expect(row.locator(".status")).to_have_text("cancelled")
    await page.screenshot(path=screens / "evaluations.png", full_page=True)
    await page.locator("select[name=status]").select_option("succeeded")
    await page.get_by_role("button", name="Filter").click()
    await expect(row).to_have_count(0)

    await page.get_by_role("link", name="Models").click()
    await page.get_by_role("link", name="tiny-gpt2").click()
    await expect(page.get_by_role("heading", name="Stage history")).to_be_visible()
    await expect(page.locator(f"a[href='#/evaluations/{evaluation_id}']")).to_be_visible()
    await page.screenshot(path=screens / "model.png", full_page=True)

    await page.get_by_role("link", name=re.compile("^Activity")).click()
    await expect(page.get_by_role("link", name=evaluation_id).first).to_be_visible()
    await page.screenshot(path=screens / "activity.png", full_page=True)

    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(re.compile(r"#/signin$"))
    assert not [c for c in await context.cookies() if c["name"] == "evalpod_session"]
    # Signed out for real: the API refuses the browser now.
    response = await page.request.get("/api/v1/evaluations")
    assert response.status == 401
    assert errors == []
    await context.close()


async def test_the_leaderboard_ranks_a_benchmark_run(
    chromium: Any, web_stack: Stack, screens: Path,
) -> None:
    async with get_database(web_stack.settings.database_dsn()).session() as session:
        _, admin_key = await create_key(session, "acme", Role.admin)
    name = f"web-bench-{uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient(base_url=web_stack.url + "/api/v1", timeout=60,
                                 headers={"Authorization": f"Bearer {admin_key}"}) as admin:
        created = await admin.post("/benchmarks", json={
            "name": name, "primary_metric": "accuracy",
            "script": "def evaluate_model(model):\n    return {'accuracy': 0.75, 'f1': 0.5}\n"})
        assert created.status_code == 201, created.text
        runs = await admin.post(f"/benchmarks/{name}/runs", json={"models": ["tiny-gpt2"]})
        assert runs.status_code == 202, runs.text
    (run,) = runs.json()["runs"]
    await web_stack.wait_for(run["evaluation_id"], {"succeeded"})

    context = await chromium.new_context(base_url=web_stack.url)
    page = await context.new_page()
    await page.goto("/#/signin")
    await page.get_by_label("API key").fill(web_stack.key)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("link", name="Benchmarks").click()
    await page.get_by_role("link", name=name).click()
    row = page.locator("#leaderboard tr[data-model='tiny-gpt2']")
    await expect(row.locator("td").first).to_have_text("1")
    await expect(row.locator(".score")).to_have_text("0.75")  # not 0.7500
    await expect(page.locator("#leaderboard thead")).to_contain_text("f1")
    await page.screenshot(path=screens / "leaderboard.png", full_page=True)
    await context.close()


# Records the page's notifications instead of showing them (headless has no desktop).
FAKE_NOTIFICATIONS = """
window.__notifications = [];
window.Notification = class {
  static permission = "granted";
  static requestPermission() { return Promise.resolve("granted"); }
  constructor(title, options) { window.__notifications.push([title, options.body]); }
};
"""


async def test_finished_and_failed_evaluations_notify_and_badge_the_feed(
    chromium: Any, web_stack: Stack, screens: Path,
) -> None:
    context = await chromium.new_context(base_url=web_stack.url)
    await context.add_init_script(FAKE_NOTIFICATIONS)
    page = await context.new_page()
    await page.goto("/#/signin")
    await page.get_by_label("API key").fill(web_stack.key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Evaluations")).to_be_visible()
    await page.get_by_role("link", name=re.compile("^Activity")).click()
    await page.get_by_role("button", name="Mark all read").click()
    await expect(page.locator("#unread")).to_be_hidden()

    good = await web_stack.submit("def evaluate_model(model):\n    return {'ok': 1}\n")
    bad = await web_stack.submit(
        f"def evaluate_model(model):\n    return {{'ok': 1 / (0 if {REAL_RUN} else 1)}}\n")
    good_id, bad_id = good.json()["evaluation_id"], bad.json()["evaluation_id"]
    await web_stack.wait_for(good_id, {"succeeded"})
    await web_stack.wait_for(bad_id, {"failed"})

    expected = [["evalpod: evaluation succeeded", good_id], ["evalpod: evaluation failed", bad_id]]
    for _ in range(120):  # the feed is polled every 15 s
        shown = await page.evaluate("window.__notifications")
        if len(shown) >= 2:
            break
        await page.wait_for_timeout(500)
    assert sorted(shown) == sorted(expected)
    badge = page.locator("#unread")
    await expect(badge).to_be_visible()
    assert int(await badge.inner_text()) >= 4  # submitted, validated and finished, each
    await page.reload()
    await page.screenshot(path=screens / "activity-unread.png", full_page=True)
    await page.get_by_role("button", name="Mark all read").click()
    await expect(badge).to_be_hidden()
    await context.close()


async def test_a_429_pauses_the_page_polling_for_its_retry_after(
    chromium: Any, web_stack: Stack,
) -> None:
    """The server is stood in for (page.route) so the 429 comes on cue."""
    context = await chromium.new_context(base_url=web_stack.url)
    page = await context.new_page()
    await page.goto("/#/signin")
    await page.get_by_label("API key").fill(web_stack.key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Evaluations")).to_be_visible()

    record = {"evaluation_id": "ev_x", "status": "executing", "model_id": "tiny-gpt2",
              "kind": "script", "created_at": "2026-01-01T00:00:00Z", "transitions": [],
              "findings": []}
    status_polls: list[float] = []

    async def status(route: Any) -> None:
        status_polls.append(1)
        await route.fulfill(status=429, headers={"Retry-After": "60"}, json={"error": {
            "code": "RATE_LIMITED", "message": "slow down", "hint": "", "detail": {},
            "timestamp": "2026-01-01T00:00:00Z"}})

    await page.route("**/api/v1/evaluations/ev_x/status", status)
    await page.route("**/api/v1/evaluations/ev_x", lambda route: route.fulfill(json=record))
    await page.goto("/#/evaluations/ev_x")
    await expect(page.locator(".row .status")).to_have_text("executing")
    # The first status poll (at 5 s) is told to wait 60 s; the ones at 10 and 15 s do not go.
    await page.wait_for_timeout(16_000)
    assert len(status_polls) == 1
    await context.close()
