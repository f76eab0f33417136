"""Progress reports from inside the sandbox: `model.progress(...)` and the script's tqdm bars.

Each report is one line on the job's stdout, `MARKER` followed by a JSON object
(`bar`, `done`, `total`, `description`, `rate` per second, `elapsed_s`, `eta_s`); the
host turns such a line into a `progress` entry of the log stream
(`evalpod.logs.progress`), which re-validates it: everything here is the script's
data, bounded again on the host. Reports of one bar are rate-limited to one per
`MIN_INTERVAL_S`, except a bar's first and its final one (done reaches total, or the
bar closes), and a report with nothing new (same done, total, description) is never sent.
Past that, every report spends from one budget shared by all bars (`BUDGET_*`); a report
the budget holds back waits as its bar's latest and goes out with the next one that
fits, or at the end of the job (`flush`), so every bar's last state is always sent.

tqdm (`import tqdm`, `from tqdm import tqdm`, `tqdm.auto`) is hooked at the class:
every bar draws nothing to the log and reports here instead. `install` runs before the
runtime guard is armed, and warms up what tqdm loads lazily, so nothing new is imported
or loaded on the script's behalf afterwards.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

# STX: not a line boundary for str.splitlines (RS \x1e is). Must equal
# evalpod.logs.progress.MARKER (tests/harness checks it): the harness cannot import evalpod.
MARKER = "\x02evalpod:progress "
MIN_INTERVAL_S = 0.2
# All bars together draw on one budget whose rate falls as the job runs: 5 reports a
# second for the first minute, then 300 / elapsed seconds (one every 12 s after an hour),
# never below one a minute. Reports count towards the job's output cap (8 MiB a run): this
# keeps a day of progress near 0.5 MiB, whatever the loops look like (lm-eval's included).
BUDGET_BURST = 10.0
BUDGET_FAST_S = 60.0
BUDGET_PER_S = 5.0
BUDGET_FLOOR_PER_S = 1 / 60
MAX_BARS = 16
MAX_DESCRIPTION = 200
MAX_NUMBER = 1e15


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        scalar = getattr(value, "item", None)  # a numpy or torch scalar
        if not callable(scalar):
            raise TypeError(f"progress {name} must be a number, got {type(value).__name__}")
        return _number(scalar(), name)
    number = float(value)
    if not math.isfinite(number) or number < 0 or number > MAX_NUMBER:
        raise ValueError(f"progress {name} must be a finite number in [0, {MAX_NUMBER:g}]")
    return number


def _plain(number: float) -> int | float:
    number = float(number)
    return int(number) if number.is_integer() else round(number, 6)


class Reporter:
    """Turns progress of up to `MAX_BARS` bars into rate-limited marker lines on `write`."""

    def __init__(self, write: Callable[[str], None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._write = write
        self._clock = clock
        self._lock = threading.Lock()
        self._bars: dict[object, int] = {}
        self._started: dict[int, float] = {}
        self._last_sent: dict[int, float] = {}
        self._last_payload: dict[int, tuple[float, float | None, str | None]] = {}
        self._born = self._refilled = clock()
        self._tokens = BUDGET_BURST
        self._held: dict[int, str] = {}  # bar -> its latest report the budget held back

    def _spend(self, now: float) -> bool:
        """Take one report from the shared budget, if there is one."""
        elapsed = now - self._born
        rate = BUDGET_PER_S if elapsed < BUDGET_FAST_S else max(
            BUDGET_FLOOR_PER_S, BUDGET_PER_S * BUDGET_FAST_S / elapsed)
        self._tokens = min(BUDGET_BURST, self._tokens + (now - self._refilled) * rate)
        self._refilled = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def flush(self) -> None:
        """Send every report the budget held back (the job is ending)."""
        with self._lock:
            held, self._held = self._held, {}
            for line in held.values():
                self._write(line)

    def _bar(self, key: object) -> int:
        bar = self._bars.get(key)
        if bar is None:
            # The lowest free number (a nested loop's inner bar keeps its slot); past
            # MAX_BARS open bars, new ones share the last: bounded, never an error.
            used = set(self._bars.values())
            bar = next((n for n in range(MAX_BARS) if n not in used), MAX_BARS - 1)
            self._bars[key] = bar
            if bar not in used:
                for state in (self._started, self._last_sent, self._last_payload, self._held):
                    state.pop(bar, None)
        return bar

    def release(self, key: object) -> None:
        """Forget `key` (a closed tqdm bar): its number is free for the next bar."""
        with self._lock:
            self._bars.pop(key, None)

    def report(self, key: object, done: float, total: float | None, description: str | None,
               *, rate: float | None = None, elapsed_s: float | None = None,
               final: bool = False) -> bool:
        """Send one report of bar `key` unless rate-limited; True when a line was written."""
        with self._lock:
            bar = self._bar(key)
            now = self._clock()
            started = self._started.setdefault(bar, now)
            if elapsed_s is None:
                elapsed_s = now - started
            if rate is None and elapsed_s > 0 and done > 0:
                rate = done / elapsed_s
            final = final or (total is not None and done >= total)
            state = (done, total, description)
            if state == self._last_payload.get(bar):
                return False  # nothing new (a closing bar's final, again)
            last = self._last_sent.get(bar)
            if not final and last is not None and now - last < MIN_INTERVAL_S:
                return False
            eta = None
            if total is not None and rate and rate > 0:
                eta = max(0.0, (total - done) / rate)
            payload = json.dumps({
                "bar": bar, "done": _plain(done),
                "total": None if total is None else _plain(total),
                "description": None if description is None else description[:MAX_DESCRIPTION],
                "rate": None if rate is None else round(min(rate, MAX_NUMBER), 6),
                "elapsed_s": round(min(elapsed_s, MAX_NUMBER), 3),
                "eta_s": None if eta is None else round(min(eta, MAX_NUMBER), 3),
            }, allow_nan=False)
            self._last_sent[bar] = now
            self._last_payload[bar] = state
            line = MARKER + payload + "\n"
            if not self._spend(now):
                self._held[bar] = line
                return False
            self._held.pop(bar, None)
            self._write(line)
            # Bars held back earlier go out while the budget allows.
            while self._held and self._spend(now):
                self._write(self._held.pop(next(iter(self._held))))
            return True


def _stdout_writer(stream: TextIO) -> Callable[[str], None]:
    def write(line: str) -> None:
        stream.write(line)
        stream.flush()

    return write


# The stream is bound now: a script that swaps sys.stdout does not redirect reports.
REPORTER = Reporter(_stdout_writer(sys.stdout))


def progress(done: Any, total: Any = None, description: Any = None) -> None:
    """Report that `done` of `total` units are done (`total` None: unknown).

    `model.progress` calls this. Reports with the same `description` are one bar; the
    host shows each bar with its rate and an estimate of the time left. Raises TypeError
    or ValueError for a value that is not a finite number in [0, 1e15] (`total` > 0).
    """
    done_n = _number(done, "done")
    total_n = None if total is None else _number(total, "total")
    if total_n is not None and total_n <= 0:
        raise ValueError("progress total must be above 0 (or None when unknown)")
    label = None if description is None else str.__str__(description) if isinstance(
        description, str) else None
    if description is not None and label is None:
        raise TypeError("progress description must be a string")
    REPORTER.report(("progress", label), done_n, total_n, label)


class _NoTerminal:
    """Where hooked tqdm bars 'draw': nothing is written; looks like a terminal so that
    `disable=None` (off unless on a terminal) bars still report."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return True


def flush() -> None:
    """Send the reports the shared budget held back; the harness calls it as the job ends."""
    REPORTER.flush()


def _from_tqdm(bar: Any, *, final: bool = False) -> None:
    try:
        info = bar.format_dict
        done = _number(info.get("n") or 0, "done")
        total_raw = info.get("total")
        total = _number(total_raw, "total") if total_raw else None
        rate_raw = info.get("rate")
        rate = _number(rate_raw, "rate") if rate_raw else None
        elapsed = _number(info.get("elapsed") or 0, "elapsed")
        desc = info.get("prefix") or None
        REPORTER.report(("tqdm", id(bar)), done, total, desc if isinstance(desc, str) else None,
                        rate=rate, elapsed_s=elapsed, final=final)
    except (TypeError, ValueError, AttributeError):
        return  # a bar with odd values reports nothing; the script goes on


def _hook_tqdm(tqdm_class: Any) -> None:
    original_init = tqdm_class.__init__
    original_close = tqdm_class.close
    no_terminal = _NoTerminal()

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) >= 5:  # tqdm(iterable, desc, total, leave, file, ...)
            args = (*args[:4], no_terminal, *args[5:])
        else:
            kwargs["file"] = no_terminal
        kwargs["dynamic_ncols"] = False
        kwargs.setdefault("ncols", 80)
        original_init(self, *args, **kwargs)

    def display(self: Any, msg: str | None = None, pos: int | None = None) -> bool:
        _from_tqdm(self)
        return True

    def close(self: Any) -> None:
        reporting = not getattr(self, "disable", True)
        if reporting:
            _from_tqdm(self, final=True)
        try:
            original_close(self)  # its last display() is the same report: not sent again
        finally:
            if reporting:
                REPORTER.release(("tqdm", id(self)))

    tqdm_class.__init__ = __init__
    tqdm_class.display = display
    tqdm_class.close = close
    tqdm_class.monitor_interval = 0  # no monitor thread


def install() -> None:
    """Hook tqdm, if the runtime has it; call before the runtime guard is armed."""
    try:
        import tqdm
        import tqdm.auto
        import tqdm.std
    except ImportError:
        return
    # No monitor thread, even for the warm-up bar: a second thread would change what the
    # script's process is (setns and unshare refuse a multithreaded caller).
    tqdm.std.tqdm.monitor_interval = 0
    # Lazy imports and lookups tqdm makes on a bar's first use happen now, unguarded,
    # before the hook (so this bar reports nothing).
    with tqdm.std.tqdm(total=1, file=_NoTerminal(), disable=False, ncols=80) as warm:
        warm.update(1)
    _hook_tqdm(tqdm.std.tqdm)
