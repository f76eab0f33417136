"""Printing a followed log: its lines, and its progress events as bars.

On a terminal, the job's progress reports (`progress` events, `evalpod.logs.progress`)
are drawn as live bars with rate and time left by rich's `Progress` (rich comes with
typer), below the log lines, which scroll above them. Elsewhere (a pipe, a file, CI)
a bar is one plain line when it starts, each time it crosses another tenth, and when it
ends, so a log that is saved or grepped is not flooded by reports.

Reports are the job's data, so what they cost here is bounded whatever it sends: a bar
that starts again (its `done` goes down) reuses its drawn bar, at most `MAX_LIVE_BARS`
are drawn (one note for the rest), and a bar's runs after its `MAX_PLAIN_RUNS`th are not
printed as plain lines (one note says so).
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import IO, Any

import typer

from evalpod.display import neutralise
from evalpod.logs.events import SERVICE_PREFIX, LogLine, job_gutter, render
from evalpod.logs.progress import Progress, clock, describe, percent

PLAIN_STEPS = 10
MAX_LIVE_BARS = 16
MAX_PLAIN_RUNS = 3
SERVICE_INDENT = "   "


def wrap_rows(text: str, gutter: str, width: int) -> list[str]:
    """A line as terminal rows of at most `width` cells, each row after the first
    starting with `gutter` (a job's line's own gutter, `SERVICE_INDENT` for evalpod's),
    so that the terminal never wraps a line and a job cannot pad one to start a row with
    text of its own (`== evalpod: …`). Tabs become spaces."""
    if width <= len(gutter) + 1:
        return [text]
    from rich.cells import cell_len, chop_cells

    text = text.expandtabs(8)
    if cell_len(text) <= width:
        return [text]
    first, *rest = chop_cells(text, width)
    remainder = "".join(rest)
    return [first, *(gutter + row for row in chop_cells(remainder, width - len(gutter)))]


class LogPrinter:
    """Prints `log` lines and `progress` events of one log; use as a context manager.

    `live`: draw bars (default: whether `file` is a terminal). Lines cut in pieces
    (`continues`) are joined before they are printed; live, a job's line is cut into
    rows that fit the terminal, each after the job's gutter (`wrap_rows`).
    """

    def __init__(self, file: IO[str] | None = None, *, live: bool | None = None) -> None:
        self._file = file or sys.stdout
        self._live = self._file.isatty() if live is None else live
        self._joining = False
        self._joining_with: tuple[str, str] = ("job", "run")  # a piece's source and phase
        self._pending = ""
        self._gutter = SERVICE_INDENT
        self._console: Any = None  # rich.console.Console, for the terminal's width
        self._progress: Any = None  # rich.progress.Progress once a bar is drawn
        self._tasks: dict[tuple[str, int], Any] = {}  # rich.progress.Task per bar
        self._plain_step: dict[tuple[str, int], int] = {}
        self._plain_runs: dict[tuple[str, int], int] = {}
        self._bars_dropped = False

    def __enter__(self) -> LogPrinter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Stop drawing (the bars stay as last drawn) and end any unfinished line."""
        if self._joining:
            self._end_partial()
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def line(self, line: LogLine) -> None:
        """One `log` event's line (or piece of one).

        A piece goes on the line before it only when it comes from the same source and
        phase: a job killed mid-line (too much output) never sends the rest, and the
        line that follows (evalpod's reason, or the other phase's output) starts a line
        of its own, never reads as the job's.
        """
        if self._joining and (line.source, line.phase) != self._joining_with:
            self._end_partial()
        if not self._joining:
            # evalpod's lines may quote a job (an error's last line): theirs go on indented.
            self._gutter = job_gutter(line.phase) if line.source == "job" else SERVICE_INDENT
        text = neutralise(line.text) if self._joining else render(line)
        self._joining = line.continues
        self._joining_with = (line.source, line.phase)
        if not self._live:
            typer.echo(text, nl=not line.continues, file=self._file)
            return
        # Under a live display only whole lines can be printed above the bars.
        self._pending += text
        if not line.continues:
            self._print("\n".join(wrap_rows(self._pending, self._gutter, self._width())))
            self._pending = ""

    def _end_partial(self) -> None:
        """End a line whose rest never came (it was cut where its job was stopped)."""
        self._joining = False
        if not self._live:
            typer.echo("", file=self._file)
        elif self._pending:
            self._print("\n".join(wrap_rows(self._pending, self._gutter, self._width())))
            self._pending = ""

    def _width(self) -> int:
        if self._console is None:
            from rich.console import Console

            self._console = Console(file=self._file)
        return int(self._console.width)

    def progress(self, progress: Progress) -> None:
        """One `progress` event: a bar drawn, or (not live) a plain line when it matters."""
        key = (progress.phase, progress.bar)
        if not self._live:
            if self._joining:
                self._end_partial()
            self._plain(key, progress)
            return
        self._draw(key, progress)

    def _plain(self, key: tuple[str, int], progress: Progress) -> None:
        step = self._step(progress)
        last = self._plain_step.get(key)
        if last == step:
            return
        self._plain_step[key] = step
        if last is None or step < last:  # the bar's first run, or it started again
            runs = self._plain_runs[key] = self._plain_runs.get(key, 0) + 1
            if runs == MAX_PLAIN_RUNS + 1:
                label = progress.description or f"bar {progress.bar}"
                typer.echo(f"{SERVICE_PREFIX}progress: {label} started again; its "
                           "further runs are not shown", file=self._file)
        if self._plain_runs[key] <= MAX_PLAIN_RUNS:
            typer.echo(describe(progress), file=self._file)

    @staticmethod
    def _step(progress: Progress) -> int:
        if progress.final:
            return PLAIN_STEPS + 1
        fraction = progress.fraction
        # Unknown total: only its first report is printed until it ends.
        return -1 if fraction is None else int(fraction * PLAIN_STEPS)

    def _print(self, text: str) -> None:
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False,
                                         emoji=False, soft_wrap=True)
        else:
            typer.echo(text, file=self._file)

    def _draw(self, key: tuple[str, int], progress: Progress) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
        from rich.progress import Progress as RichProgress

        if self._progress is None:
            self._progress = RichProgress(
                TextColumn("{task.description}", markup=False), BarColumn(),
                # Our percent, not rich's `:.0f` (which shows 99.9 % done as 100%).
                TextColumn("{task.fields[percent]:>5}"), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TextColumn("{task.fields[eta]}"),
                console=self._console or Console(file=self._file), transient=False,
                auto_refresh=True, refresh_per_second=5)
            self._progress.start()
        label = (("trial | " if progress.phase == "trial" else "")
                 + (progress.description or f"bar {progress.bar}"))
        # The job's own numbers: its rate and estimate, measured in the sandbox.
        rate = f"{progress.rate:,.2f}/s" if progress.rate else ""
        share = "" if progress.fraction is None else percent(progress.fraction)
        eta = ("done" if progress.final else
               f"eta {clock(progress.eta_s)}" if progress.eta_s is not None else "")
        task = self._tasks.get(key)
        if task is None:
            if len(self._tasks) >= MAX_LIVE_BARS:
                if not self._bars_dropped:
                    self._bars_dropped = True
                    self._print(f"{SERVICE_PREFIX}progress: more than {MAX_LIVE_BARS} bars; "
                                "the others are not drawn")
                return
            task_id = self._progress.add_task(label, total=progress.total, rate=rate, eta=eta,
                                              percent=share)
            task = self._tasks[key] = next(t for t in self._progress.tasks if t.id == task_id)
        # A bar that starts again (the next loop in its slot) is the same bar, its count
        # going down. Set in place: rich's `reset` and `update` cannot make a total unknown,
        # and `reset` redraws every bar at once (a redraw per report).
        task.description, task.total, task.completed = label, progress.total, progress.done
        task.fields.update(rate=rate, eta=eta, percent=share)
