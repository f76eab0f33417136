"""The evaluation page in a real browser (#14.3): a progress bar fed by the SSE `progress`
events moves while the job runs and shows an estimate; the script viewer shows the
submitted script with line numbers and highlights the lines its findings name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.stack import Stack

expect = pytest.importorskip(
    "playwright.async_api", reason="the playwright package is not installed "
    "(pip install -e '.[dev]')").expect

TIMEOUT_MS = 240_000  # a trial and a run each load torch and a model: slow on a busy host
# A long hex literal: the warning EP603 (opaque blob) at line 3, which does not block.
BLOB = "".join(f"{i:02x}" for i in range(128, 256))
SCRIPT = f"""import time

KEY = "{BLOB}"


def evaluate_model(model):
    for i in range(20):
        time.sleep(0.15)
        model.progress(i + 1, 20, description="questions")
    return {{"n": len(KEY)}}
"""
# Every change of a bar, as the page makes it: "phase:bar=done|detail text".
RECORD_BARS = """() => {
  window.barChanges = [];
  new MutationObserver((changes) => {
    for (const change of changes) {
      const row = change.target.closest && change.target.closest(".progress-row");
      if (!row) continue;
      const meter = row.querySelector("progress");
      window.barChanges.push(`${row.dataset.bar}=${meter.dataset.done}|${row.querySelector(".detail").textContent}`);
    }
  }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ["data-done"] });
}"""


async def test_the_bar_moves_with_an_estimate_and_the_script_shows_its_findings(
    chromium: Any, web_stack: Stack, screens: Path,
) -> None:
    context = await chromium.new_context(base_url=web_stack.url, viewport={
        "width": 1280, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto("/")
    await page.get_by_label("API key").fill(web_stack.key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Evaluations")).to_be_visible()

    response = await web_stack.submit(SCRIPT, config={"timeout_s": 120})
    assert response.status_code == 202, response.text
    evaluation_id = response.json()["evaluation_id"]
    await page.goto(f"/#/evaluations/{evaluation_id}")
    await expect(page.locator("#stream-state")).to_have_text("live")
    await page.evaluate(RECORD_BARS)  # long before the trial has loaded its model

    run_bar = page.locator(".progress-row[data-bar='run:0']")
    await expect(run_bar).to_have_class("progress-row final", timeout=TIMEOUT_MS)
    await expect(run_bar.locator(".label")).to_have_text("questions")
    await expect(run_bar.locator(".detail")).to_contain_text("20/20 (100%)")
    await expect(run_bar.locator(".detail")).to_contain_text("done")
    assert await run_bar.locator("progress").evaluate("p => [p.value, p.max]") == [20, 20]
    changes: list[str] = await page.evaluate("window.barChanges")
    run = [c for c in changes if c.startswith("run:0=")]
    dones = [float(c.split("=", 1)[1].split("|", 1)[0]) for c in run]
    # It moved: several values on the way up, each shown with an estimate of the time left.
    assert len(set(dones)) >= 3 and dones == sorted(dones) and dones[-1] == 20, changes
    assert any("ETA 0:0" in c for c in run[:-1]), run
    # The trial's bar (on the model's shadow) was shown too, marked as the trial's.
    trial_bar = page.locator(".progress-row[data-bar='trial:0']")
    await expect(trial_bar.locator(".label")).to_have_text("trial · questions")
    # ... and, the trial over, it left the live area for the collapsed finished group.
    await expect(page.locator("#progress details.done-bars [data-bar='trial:0']")).to_be_hidden()
    await expect(page.locator("#progress .live .progress-row")).to_have_count(1)

    # The script viewer: every line numbered, the finding's line highlighted and linked.
    lines = SCRIPT.rstrip("\n").split("\n")
    viewer = page.locator("#script ol.script li")
    await expect(viewer).to_have_count(len(lines))
    await expect(page.locator("#script li#L7")).to_have_text(lines[6])
    await expect(page.locator("#script li#L3")).to_have_class("flagged")
    assert "EP603" in (await page.locator("#script li#L3").get_attribute("title") or "")
    await page.locator(".findings li[data-line='3'] button").click()
    await expect(page.locator("#script li#L3")).to_have_class("flagged target")
    await expect(page.locator(".row .status")).to_have_text("succeeded", timeout=TIMEOUT_MS)
    await page.screenshot(path=screens / "evaluation-progress-script.png", full_page=True)
    assert errors == []
    await context.close()


STATIC = Path(__file__).resolve().parents[2] / "api" / "web" / "static"
# The reviewer's forged stream (finding 4) as the page gets it, and a report with
# `total: 0` such as an older server passed on: bars 0..15 of the run and of the trial,
# each alternating done 1 of 1 and done 0 of 0.
FEED_FORGED = """() => {
  const bars = progressBars();
  document.getElementById("view").replaceChildren(bars.element);
  for (let i = 0; i < 3000; i++) {
    const n = Math.floor(i / 32) % 2;
    bars.update({ phase: i % 32 < 16 ? "run" : "trial", bar: i % 16, done: n, total: n,
                  description: `step ${i}`, rate: null, eta_s: null });
  }
  return bars.element.textContent;
}"""


async def _page_with_app(chromium: Any) -> Any:
    """A page with the dashboard's DOM, stylesheet and script, no server behind it (its
    API calls fail, which these tests do not need)."""
    context = await chromium.new_context()
    page = await context.new_page()
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    html = html.replace('<script src="/static/app.js" defer></script>', "").replace(
        '<link rel="stylesheet" href="/static/app.css">',
        f"<style>{(STATIC / 'app.css').read_text(encoding='utf-8')}</style>")
    await page.set_content(html)
    await page.add_script_tag(content=(STATIC / "app.js").read_text(encoding="utf-8"))
    return page


async def test_a_total_of_zero_never_shows_nan_and_bars_are_capped(chromium: Any) -> None:
    page = await _page_with_app(chromium)
    views = await page.evaluate("""() => [
      progressView({ phase: "run", bar: 0, done: 0, total: 0, rate: null, eta_s: null }),
      progressView({ phase: "run", bar: 0, done: 3, total: 10, rate: 2.5, eta_s: 2.8 }),
      progressView({ phase: "run", bar: 0, done: 5, total: null, rate: 0, eta_s: null }),
      progressView({ phase: "run", bar: 0, done: 10, total: 10, rate: null, eta_s: 0 }),
    ]""")
    assert [v["detail"] for v in views] == [
        "0", "3/10 (30%) · 2.50/s · ETA 0:03", "5", "10/10 (100%) · done"]
    assert [v["final"] for v in views] == [False, False, False, True]
    text = await page.evaluate(FEED_FORGED)
    assert "NaN" not in text and "0/0" not in text
    rows = page.locator(".progress-row")
    await expect(rows).to_have_count(16)  # 32 bars reported, each restarting ~47 times
    await expect(page.locator(".more-bars")).to_have_count(1)
    await page.context.close()


async def test_evalpod_s_own_log_lines_carry_a_badge_a_job_line_cannot(chromium: Any) -> None:
    """Finding 5 on the page: the same text as a job's line and as evalpod's line look
    different, since only the host sets `source`."""
    page = await _page_with_app(chromium)
    badges = await page.evaluate("""() => {
      const log = h("pre", { class: "log" });
      document.getElementById("view").replaceChildren(log);
      const text = "== evalpod: run succeeded after 0.41 s";
      for (const source of ["job", "evalpod"]) log.append(logLine({ text, source, phase: "run" }));
      return [...log.children].map((s) => getComputedStyle(s, "::before").content);
    }""")
    assert badges[0] in ("none", "normal", "") and badges[1] == '"evalpod"', badges
    await page.context.close()


async def test_percentages_round_to_the_nearest(chromium: Any) -> None:
    """2/3 is 67 %, not 66 % (they were rounded down), like the CLI's bar."""
    page = await _page_with_app(chromium)
    details = await page.evaluate("""() => [[2, 3], [1, 6], [5, 6], [1, 3], [7, 1000]].map(
      ([done, total]) => progressView({ phase: "run", bar: 0, done, total }).detail)""")
    assert details == ["2/3 (67%)", "1/6 (17%)", "5/6 (83%)", "1/3 (33%)", "7/1,000 (1%)"]
    await page.context.close()


async def test_the_trial_s_bars_leave_the_live_area_when_the_run_starts(chromium: Any) -> None:
    """A trial's bar that stayed among the run's live bars (new user): the first report of
    the run moves every trial bar, finished or not, to a collapsed group under a summary."""
    page = await _page_with_app(chromium)
    await page.evaluate("""() => {
      window.bars = progressBars();
      // Not in #view: the app's own start (the sign-in form) may render there later.
      document.body.appendChild(bars.element);
      bars.update({ phase: "trial", bar: 0, done: 20, total: 20, description: "questions" });
      bars.update({ phase: "trial", bar: 1, done: 3, total: null, description: "warm-up" });
    }""")
    live = page.locator("#progress .live .progress-row")
    await expect(live).to_have_count(2)
    await expect(page.locator("details.done-bars")).to_be_hidden()
    await page.evaluate("""() => bars.update({ phase: "run", bar: 0, done: 1, total: 20,
                                               description: "questions" })""")
    await expect(live).to_have_count(1)
    await expect(live).to_have_attribute("data-bar", "run:0")
    done = page.locator("details.done-bars")
    await expect(done.locator("summary")).to_have_text("Trial run finished · 2 bars")
    await expect(done.locator(".progress-row")).to_have_count(2)
    await expect(done.locator(".progress-row").first).to_be_hidden()  # collapsed
    await done.locator("summary").click()
    await expect(done.locator(".progress-row[data-bar='trial:0'] .detail")).to_have_text(
        "20/20 (100%) · done")
    # The evaluation page retires them too once the status leaves validation.
    await page.evaluate("""() => {
      window.other = progressBars();
      other.update({ phase: "trial", bar: 0, done: 1, total: 2 });
      other.retire("trial");
      other.update({ phase: "trial", bar: 1, done: 1, total: 2 });  // late: not live either
      bars.element.remove();
      document.body.appendChild(other.element);
    }""")
    await expect(page.locator("#progress .live .progress-row")).to_have_count(0)
    await expect(page.locator("details.done-bars summary")).to_have_text(
        "Trial run finished · 2 bars")
    await page.context.close()
