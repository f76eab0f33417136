"""`evalpod logs --follow` with progress events (#14.3): plain lines when stdout is not a
terminal (one per tenth of a bar and its end, never one per report), a drawn bar with the
job's rate and estimate when it is."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from rich.cells import cell_len

from evalpod.cli.progress import MAX_LIVE_BARS, MAX_PLAIN_RUNS, LogPrinter
from evalpod.logs.events import LogLine
from evalpod.logs.progress import Progress
from tests.stack import free_port

EVALUATION = "ev_progress"
RECORD = {"evaluation_id": EVALUATION, "status": "succeeded", "kind": "script",
          "model_id": "tiny-gpt2", "priority": 0, "tags": {}, "created_at": "2026-01-01T00:00:00Z",
          "config": {}, "updated_at": "2026-01-01T00:00:01Z", "result": {"n": 20}}


def _event(event_id: int, event: str, data: dict[str, object]) -> bytes:
    return f"id: {event_id}-0\nevent: {event}\ndata: {json.dumps(data)}\n\n".encode()


async def _logs(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    n = 0
    await response.write(_event(n, "log", {"text": "start", "phase": "run", "source": "job"}))
    for done in range(21):
        n += 1
        await response.write(_event(n, "progress", {
            "bar": 0, "done": done, "total": 20, "description": "questions",
            "rate": 4.0 if done else None, "elapsed_s": done / 4, "eta_s": (20 - done) / 4,
            "phase": "run"}))
    for done in (1, 2, 3):  # a bar of unknown length: its first report only, until it ends
        n += 1
        await response.write(_event(n, "progress", {"bar": 1, "done": done, "total": None,
                                                    "description": "open", "phase": "run"}))
    await response.write(_event(n + 1, "log", {"text": "finish", "phase": "run",
                                               "source": "job"}))
    await response.write(b"event: end\ndata: succeeded\n\n")
    return response


SPOOF_EVALUATION = "ev_spoof"
# What /tmp/attack/p3_spoof_lines.py prints (finding 5), in the trial and in the run,
# between evalpod's own lines about each.
P3_LINES = ["== evalpod: run: model tiny-gpt2, at most 300 s, 4096 MiB",
            "== evalpod: run succeeded after 0.41 s",
            "trial | == evalpod: trial run succeeded after 2.00 s",
            "progress questions: 100/100 (100%) 250.00/s, done"]


async def _spoof_logs(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    n = 0
    for phase, name in (("trial", "trial run"), ("run", "run")):
        notes = [f"{name}: model tiny-gpt2, at most 300 s, 4096 MiB",
                 f"{name} succeeded after 0.58 s"]
        lines = [(notes[0], "evalpod"), *((text, "job") for text in P3_LINES),
                 (notes[1], "evalpod")]
        for text, source in lines:
            n += 1
            await response.write(_event(n, "log", {"text": text, "phase": phase,
                                                   "source": source}))
    await response.write(b"event: end\ndata: succeeded\n\n")
    return response


async def _status(_request: web.Request) -> web.Response:
    return web.json_response({"evaluation_id": EVALUATION, "status": "executing"})


async def _record(_request: web.Request) -> web.Response:
    return web.json_response(RECORD)


@pytest.fixture
async def server() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get(f"/api/v1/evaluations/{EVALUATION}/logs", _logs)
    app.router.add_get(f"/api/v1/evaluations/{EVALUATION}/status", _status)
    app.router.add_get(f"/api/v1/evaluations/{EVALUATION}", _record)
    app.router.add_get(f"/api/v1/evaluations/{SPOOF_EVALUATION}/logs", _spoof_logs)
    app.router.add_get(f"/api/v1/evaluations/{SPOOF_EVALUATION}", _record)
    app.router.add_get(f"/api/v1/evaluations/{SPOOF_EVALUATION}/status", _status)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_follow_into_a_pipe_prints_a_line_per_tenth_not_per_report(server: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALPOD_")}
    env |= {"EVALPOD_URL": server, "EVALPOD_API_KEY": "ep_test"}
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", "from evalpod.cli import main; main()", "logs", EVALUATION,
         "--follow"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout.splitlines()
    progress = [line for line in out if line.startswith("== progress")]
    assert progress[0] == "== progress: questions 0/20 (0%), 0:05 left"
    assert progress[1] == "== progress: questions 2/20 (10%) 4.00/s, 0:05 left"  # 4.5 s
    assert progress[10] == "== progress: questions 20/20 (100%) 4.00/s, done"
    assert progress[11] == "== progress: open 1"
    assert len(progress) == 12  # 21 + 3 reports, 12 lines
    assert out[0] == "| start" and out[out.index(progress[-1]) + 1] == "| finish"
    assert "\r" not in result.stdout and "\x1b" not in result.stdout
    assert f"== {EVALUATION}: succeeded" in out


async def test_evalpod_logs_tells_the_job_s_forged_lines_from_evalpod_s(server: str) -> None:
    """The reviewer's p3 (finding 5) through `evalpod logs`: each forged line is printed
    after the job's gutter, so no printed line of the job equals one of evalpod's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALPOD_")}
    env |= {"EVALPOD_URL": server, "EVALPOD_API_KEY": "ep_test"}
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", "from evalpod.cli import main; main()", "logs",
         SPOOF_EVALUATION], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout.splitlines()
    assert out == [
        "== evalpod (trial): trial run: model tiny-gpt2, at most 300 s, 4096 MiB",
        *(f"trial | {text}" for text in P3_LINES),
        "== evalpod (trial): trial run succeeded after 0.58 s",
        "== evalpod: run: model tiny-gpt2, at most 300 s, 4096 MiB",
        *(f"| {text}" for text in P3_LINES),
        "== evalpod: run succeeded after 0.58 s",
    ]
    service = [line for line in out if line.startswith("== ")]
    assert len(service) == 4  # evalpod's own four; the job's eight all behind a gutter
    # Before: "== evalpod: run succeeded after 0.41 s" printed as is, like evalpod's.


def test_on_a_terminal_the_bar_shows_the_job_s_rate_and_estimate() -> None:
    drawn = io.StringIO()
    with LogPrinter(drawn, live=True) as printer:
        printer.line(LogLine(text="hello"))
        for done in range(0, 7):
            printer.progress(Progress(bar=0, done=done, total=10, description="questions",
                                      rate=2.5, eta_s=(10 - done) / 2.5))
        printer.line(LogLine(text="piece ", continues=True))
        printer.line(LogLine(text="joined"))
    text = drawn.getvalue()
    assert text.startswith("| hello\n| piece joined\n")
    bar = text.splitlines()[-1]
    assert bar.startswith("questions ") and "━" in bar
    assert "60%" in bar and "6/10" in bar and "2.50/s" in bar and "eta 0:02" in bar


def _forged(n: int) -> list[Progress]:
    """The reviewer's forged stream (/tmp/attack/p2_progress_forge.py) as events, with
    each of the bars 0..15 alternating: done 1 of 1 (final), then done 0 of 0 (a restart;
    `total: 0` reads as unknown), and again."""
    return [Progress.model_validate({"bar": i % 16, "done": (i // 16) % 2,
                                     "total": (i // 16) % 2, "description": f"step {i}"})
            for i in range(n)]


def test_forged_restarts_reuse_bars_and_keep_the_terminal_output_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import rich.progress

    redraws: list[int] = []
    refresh = rich.progress.Progress.refresh

    def counted(self: rich.progress.Progress) -> None:
        redraws.append(1)
        refresh(self)

    # Redraws asked for by reports (rich's own timer draws five a second on a terminal).
    monkeypatch.setattr(rich.progress.Progress, "refresh", counted)
    drawn = io.StringIO()
    with LogPrinter(drawn, live=True) as printer:
        for progress in _forged(3000):
            printer.progress(progress)
        for bar in range(16):  # the trial's bars: 16 more keys, past the cap
            printer.progress(Progress(bar=bar, done=1, total=2, phase="trial"))
        tasks = len(printer._progress.tasks)
    assert tasks == MAX_LIVE_BARS  # was a new bar at every restart: 1,500 after 3,000
    assert len(redraws) <= MAX_LIVE_BARS + 2  # one per new bar, never one per report
    text = drawn.getvalue()
    assert text.count("more than 16 bars") == 1
    assert len(text) < 16 * 200


def test_forged_restarts_into_a_pipe_print_a_few_runs_per_bar() -> None:
    printed = io.StringIO()
    with LogPrinter(printed, live=False) as printer:
        for progress in _forged(3000):
            printer.progress(progress)
    lines = printed.getvalue().splitlines()
    # Per bar: MAX_PLAIN_RUNS runs of two lines each, and one note.
    assert len(lines) == 16 * (2 * MAX_PLAIN_RUNS + 1), lines[:40]
    assert sum("further runs are not shown" in line for line in lines) == 16
    assert all(line.startswith("== progress") for line in lines)
    assert "NaN" not in printed.getvalue() and "0/0" not in printed.getvalue()


SPOOFS = ["== evalpod: run succeeded after 0.41 s",
          "trial | == evalpod: trial run succeeded after 2.00 s",
          "progress questions: 100/100 (100%) 250.00/s, done",
          "== progress: questions 100/100 (100%) 250.00/s, done",
          "  == evalpod: run succeeded", "\u2550\u2550 evalpod: run succeeded",
          "\uff1d\uff1d evalpod: run succeeded", "\u200b== evalpod: x", "\r== evalpod: x",
          "\x1b[2K\r== evalpod: x", "-- executing", "== ev_1: succeeded"]


@pytest.mark.parametrize("phase", ["run", "trial"])
def test_a_job_line_never_reads_as_one_of_evalpod_s(phase: str) -> None:
    """A job's line is printed after its gutter whatever it holds; evalpod's own lines
    (notes, progress, statuses) start with `== ` or `-- `, which no job line can."""
    printed = io.StringIO()
    with LogPrinter(printed, live=False) as printer:
        for text in SPOOFS:
            printer.line(LogLine(text=text, phase=phase))  # type: ignore[arg-type]
        printer.line(LogLine(text="run succeeded after 0.58 s", phase=phase,  # type: ignore[arg-type]
                             source="evalpod"))
        printer.progress(Progress(done=1, total=1, description="questions",
                                  phase=phase))  # type: ignore[arg-type]
    *job, service, progress = printed.getvalue().splitlines()
    gutter = "trial | " if phase == "trial" else "| "
    assert len(job) == len(SPOOFS)
    assert all(line.startswith(gutter) for line in job), job
    assert not any(line.startswith(("== ", "-- ")) for line in job)
    tag = " (trial)" if phase == "trial" else ""
    assert service == f"== evalpod{tag}: run succeeded after 0.58 s"
    assert progress == f"== progress{tag}: questions 1/1 (100%), done"
    # The job's forged service line is not the service's line.
    assert service not in job and progress not in job


TQDM_SCRIPT = """
from tqdm import tqdm


def evaluate_model(model):
    total = 0
    for i in tqdm(range(5000), desc="spin"):
        total += i
    print("the last line", total)
    return {"total": total}
"""


def test_a_tqdm_script_in_the_real_sandbox_leaves_a_readable_tail(tmp_path: Path) -> None:
    """`evalpod sandbox run` (bubblewrap, guard armed, the stub model): tqdm runs, draws
    nothing, and its reports stay out of `stdout_tail`."""
    script = tmp_path / "spin.py"
    script.write_text(TQDM_SCRIPT, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALPOD_")}
    env["EVALPOD_HOME"] = str(tmp_path / "home")
    ran = subprocess.run([sys.executable, "-c", "from evalpod.cli import main; main()",
                          "sandbox", "run", str(script), "--json", "--timeout", "120"],
                         env=env, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    report = json.loads(ran.stdout.splitlines()[-1])
    assert report["status"] == "succeeded", report
    tail = report["stdout_tail"]
    assert tail.rstrip().endswith("the last line 12497500")
    assert "evalpod:progress" not in tail and "\r" not in tail and "it/s" not in tail


@pytest.mark.parametrize("phase", ["run", "trial"])
def test_on_a_terminal_a_long_job_line_never_wraps_into_a_row_of_its_own(phase: str) -> None:
    """Padding a forged line to the terminal's width would start a terminal row with it:
    live, the printer cuts the line into rows that each start with the job's gutter."""
    gutter = "trial | " if phase == "trial" else "| "
    forged = "== evalpod: run succeeded after 0.41 s"
    drawn = io.StringIO()
    with LogPrinter(drawn, live=True) as printer:
        width = printer._width()  # 80 for a file that is not a terminal
        for pad in range(width - 12, width + 2):
            printer.line(LogLine(text="x" * pad + forged, phase=phase))  # type: ignore[arg-type]
        printer.line(LogLine(text="\t" * 12 + "x" * (width - 20) + forged,
                             phase=phase))  # type: ignore[arg-type]
        printer.line(LogLine(text="日" * width + forged, phase=phase))  # type: ignore[arg-type]
        printer.line(LogLine(text="failed: ValueError: " + "y" * width + forged,
                             source="evalpod", phase=phase))  # type: ignore[arg-type]
    rows = drawn.getvalue().splitlines()
    assert all(cell_len(row) <= width for row in rows), rows
    service = next(i for i, row in enumerate(rows) if row.startswith("== evalpod"))
    job = rows[:service]
    assert len(job) > 14 and all(row.startswith(gutter) for row in job), job
    assert all(row.startswith("   ") for row in rows[service + 1:]), rows[service:]
    assert len(rows) > service + 1
