"""Progress reports from the harness: `model.progress()` and tqdm bars become bounded,
rate-limited marker lines the host reads (issue #14.3, progress)."""

from __future__ import annotations

import pytest

from evalpod.logs import progress as host
from sandbox_images.harness import evalpod_progress as harness
from tests.harness.conftest import RunHarness

SCRIPT = '''
import tqdm as tq
from tqdm import tqdm
from tqdm.auto import tqdm as auto_tqdm


def evaluate_model(model):
    total = 0
    for i in tqdm(range(40), desc="plain"):
        total += i
    for i in auto_tqdm(range(30), desc="auto"):
        for j in tqdm(range(3), desc="inner", leave=False):
            total += j
    bar = tq.tqdm(total=5, desc="manual", disable=None)
    for _ in range(5):
        bar.update(1)
    bar.close()
    tqdm.write("a line through tqdm.write")
    for i in range(10):
        model.progress(i + 1, 10, description="helper \\x1b[31mred")
    model.progress(3, description="open-ended")
    return {"total": total}
'''


def _reports(stdout: str) -> list[host.ProgressReport]:
    lines = [line for line in stdout.splitlines() if line.startswith(host.MARKER)]
    reports = [host.parse_report(line) for line in lines]
    assert all(report is not None for report in reports), lines
    return [report for report in reports if report is not None]


def test_the_harness_and_the_host_agree_on_the_marker_and_bounds() -> None:
    assert harness.MARKER == host.MARKER
    assert harness.MAX_BARS == host.MAX_BARS
    assert harness.MAX_DESCRIPTION == host.MAX_DESCRIPTION


def test_tqdm_bars_and_model_progress_become_reports_not_drawn_lines(
        run_harness: RunHarness) -> None:
    run = run_harness(SCRIPT, model_path=None)  # the stub model; the guard is armed
    assert run.returncode == 0, run.stderr
    assert run.result is not None and run.result["ok"] is True
    # Nothing was drawn: no carriage returns, no bar on stderr.
    assert "\r" not in run.stdout + run.stderr
    assert "it/s" not in run.stderr and "%|" not in run.stderr
    assert "a line through tqdm.write" in run.stdout
    reports = _reports(run.stdout)
    by_label: dict[str | None, list[host.ProgressReport]] = {}
    for report in reports:
        by_label.setdefault(report.description, []).append(report)
    # The loops run in microseconds: the shared budget (a burst of 10) lets the first
    # bar's reports through, holds the rest back, and the end of the job sends each
    # slot's latest held report; nothing is sent twice.
    assert len(reports) <= harness.BUDGET_BURST + harness.MAX_BARS
    plain = by_label["plain"]
    assert plain[0].done == 0 and plain[-1].final and plain[-1].done == 40
    assert sum(1 for r in plain if r.final) == 1
    assert {r.bar for r in by_label.get("inner", [])} <= {1}  # nested: the next slot
    # The last bar of each slot is known: the helper's final (neutralised label, ETA 0)
    # and the open-ended one (no total, no estimate).
    helper = [r for label, rs in by_label.items() if label and label.startswith("helper")
              for r in rs]
    assert helper[-1].description == "helper \u241b[31mred"
    assert helper[-1].done == 10 and helper[-1].eta_s == 0
    assert by_label["open-ended"][-1].total is None and by_label["open-ended"][-1].eta_s is None


def test_the_guard_stays_armed_and_tqdm_needs_nothing_it_denies(run_harness: RunHarness) -> None:
    script = SCRIPT.replace('return {"total": total}', 'open("/etc/hostname")\n'
                            '    return {"total": total}')
    run = run_harness(script, model_path=None)
    assert run.result is not None and run.result["ok"] is False
    assert run.result["violation"]["detail"].startswith("open")
    assert _reports(run.stdout)  # the bars before it reported


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_reports_are_rate_limited_per_bar_but_the_first_and_final_always_go() -> None:
    sent: list[str] = []
    clock = _Clock()
    reporter = harness.Reporter(sent.append, clock)
    assert reporter.report("a", 0, 100, "a")
    for done in range(1, 50):
        clock.now += 0.01  # 100 reports a second
        reporter.report("a", done, 100, "a")
    assert len(sent) == 3  # the first, then one per 0.2 s
    assert reporter.report("b", 1, 10, "b")  # another bar is not held back by the first
    clock.now += 0.01
    assert reporter.report("a", 100, 100, "a")  # final, at once
    assert not reporter.report("a", 100, 100, "a")  # and never twice
    last = host.parse_report(sent[-1].rstrip("\n"))
    assert last is not None and last.final and last.bar == 0 and last.eta_s == 0


def test_bars_are_bounded_and_bad_values_are_refused() -> None:
    sent: list[str] = []
    reporter = harness.Reporter(sent.append, _Clock())
    for key in range(40):
        reporter.report(key, 1, 2, f"bar {key}")
    reporter.flush()
    bars = {host.parse_report(line.rstrip("\n")).bar for line in sent}  # type: ignore[union-attr]
    assert bars == set(range(harness.MAX_BARS))
    for bad in (float("nan"), float("inf"), -1, "3", True, 1e16):
        with pytest.raises((TypeError, ValueError)):
            harness.progress(bad, 10)
    with pytest.raises(ValueError):
        harness.progress(1, 0)
    with pytest.raises(TypeError):
        harness.progress(1, 10, description=3)


def test_a_long_job_s_reports_stay_far_below_the_output_cap_and_the_last_state_is_sent() -> None:
    """Two hours of a bar updated 4 times a second and a new inner bar every second: the
    shared budget keeps it to a few thousand reports (the run's output cap is 8 MiB), and
    `flush` sends what it held back, so each bar's last state is known."""
    sent: list[str] = []
    clock = _Clock()
    reporter = harness.Reporter(sent.append, clock)
    steps = 2 * 3600 * 4
    for step in range(1, steps + 1):
        clock.now += 0.25
        reporter.report("outer", step, steps + 1, "outer")
        if step % 4 == 0:
            reporter.report(("inner", step), 1, 1, "inner", final=True)
            reporter.release(("inner", step))
    reporter.flush()
    assert len(sent) < 4000, len(sent)
    assert sum(len(line) for line in sent) < 1024 * 1024
    last_outer = [r for r in map(host.parse_report, (x.rstrip("\n") for x in sent))
                  if r is not None and r.description == "outer"][-1]
    assert last_outer.done == steps
