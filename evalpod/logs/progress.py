"""Progress reports in the log: the job's marker lines, and the `progress` SSE event.

Inside the sandbox, `model.progress(...)` and the script's tqdm bars print one line per
report, `MARKER` + a JSON object (sandbox_images/harness/evalpod_progress.py). The host's
log writer turns such a line into a `progress` entry of the stream (`parse_report`), and
`GET /evaluations/{id}/logs` serves it as a `progress` event whose data is `Progress`.
A report is the script's data: every number is bounded and finite, a total is positive
(a total of 0 reads as unknown: no bar is "0/0 done"), the description neutralised and
cut, anything else in the object dropped; a marker line that is not a valid report stays
an ordinary log line. No Redis or database here: the SDK and CLI
import this module.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from evalpod.display import neutralise
from evalpod.logs.events import SERVICE_PREFIX

# STX: not a line boundary for str.splitlines (RS \x1e is). Must equal the harness's
# evalpod_progress.MARKER (tests/harness checks it).
MARKER = "\x02evalpod:progress "
MAX_BARS = 16
MAX_DESCRIPTION = 200
MAX_NUMBER = 1e15
MAX_SECONDS = 1e8
# A marker line longer than this is not a report (a real one is about 150 bytes).
MAX_REPORT_CHARS = 1024


def _display_text(value: str | None) -> str | None:
    if value is None:
        return None
    return neutralise(value)[:MAX_DESCRIPTION] or None


def _zero_is_unknown(value: object) -> object:
    # tqdm(total=0) (an empty loop) reports total 0: no known length, not a finished bar.
    return None if value == 0 and not isinstance(value, bool) else value


def _whole_as_int(value: float) -> int | float:
    # Counts are whole numbers (tqdm's n, rows): 3 stays 3 in the event and the SDK, not
    # 3.0; a fractional amount (tqdm with unit_scale, bytes in MB) stays a float.
    return int(value) if isinstance(value, float) and value.is_integer() else value


# Each member of the union carries its own bounds: on the union itself pydantic writes them
# into the document as raw `ge`/`le`, which JSON Schema does not know (no bound stated).
Count = Annotated[Annotated[int, Field(ge=0, le=MAX_NUMBER)]
                  | Annotated[float, Field(ge=0, le=MAX_NUMBER, allow_inf_nan=False)],
                  AfterValidator(_whole_as_int)]
Total = Annotated[Annotated[Annotated[int, Field(gt=0, le=MAX_NUMBER)]
                            | Annotated[float, Field(gt=0, le=MAX_NUMBER, allow_inf_nan=False)],
                            AfterValidator(_whole_as_int)] | None,
                  BeforeValidator(_zero_is_unknown)]
Seconds = Annotated[float, Field(ge=0, le=MAX_SECONDS, allow_inf_nan=False)]
Description = Annotated[str | None, Field(max_length=4 * MAX_DESCRIPTION),
                        AfterValidator(_display_text)]


class ProgressReport(BaseModel):
    """What a job may say about one bar (the marker line's JSON); unknown keys ignored."""

    model_config = ConfigDict(extra="ignore")

    bar: int = Field(default=0, ge=0, lt=MAX_BARS,
                     description="Which bar (0 for the first; nested tqdm loops get 1, 2, ...).")
    done: Count = Field(description="Units done so far.")
    total: Total = Field(default=None, description="Units in all, > 0; null when unknown "
                         "(a report's total of 0 reads as null).")
    description: Description = Field(
        default=None, description="The bar's label (tqdm's `desc`), neutralised for display.")
    rate: Count | None = Field(default=None, description="Units per second, as measured "
                               "in the sandbox; null until known.")
    elapsed_s: Seconds | None = Field(default=None, description="Seconds since the bar began.")
    eta_s: Seconds | None = Field(default=None, description="Estimated seconds left; null "
                                  "when the total or the rate is unknown.")

    @property
    def final(self) -> bool:
        return self.total is not None and self.done >= self.total


class Progress(ProgressReport):
    """The data of one `progress` event of `GET /evaluations/{id}/logs`."""

    phase: Literal["trial", "run"] = Field(
        default="run", description="`trial` (the validator's trial run) or `run`.")

    def to_data(self) -> str:
        return json.dumps(self.model_dump(), ensure_ascii=False)

    @property
    def fraction(self) -> float | None:
        """done / total in [0, 1]; None when the total is unknown."""
        if not self.total:
            return None
        return max(0.0, min(1.0, self.done / self.total))


def parse_report(line: str) -> ProgressReport | None:
    """The report a marker line carries, or None when `line` is not a valid one."""
    if not line.startswith(MARKER) or len(line) > MAX_REPORT_CHARS:
        return None
    try:
        return ProgressReport.model_validate_json(line[len(MARKER):])
    except ValidationError:
        return None


def parse_progress_data(data: str) -> Progress | None:
    """A `progress` event's data as `Progress`, or None for data that is not one."""
    try:
        return Progress.model_validate_json(data)
    except ValidationError:
        return None


def _amount(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def clock(seconds: float) -> str:
    """`seconds` as m:ss or h:mm:ss."""
    whole = int(seconds + 0.5)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def percent(fraction: float) -> str:
    """`fraction` (0 to 1) as a percentage rounded to the nearest whole, half up (`30%`);
    with one decimal where that would show a bar that is neither empty nor full as 0% or
    100% (0.999: `99.9%`, 0.001: `0.1%`)."""
    value = 100 * max(0.0, min(1.0, fraction))
    whole = math.floor(value + 0.5)
    if whole == 100 and value < 100:
        return f"{min(math.floor(value * 10 + 0.5) / 10, 99.9):.1f}%"
    if whole == 0 and value > 0:
        return f"{max(math.floor(value * 10 + 0.5) / 10, 0.1):.1f}%"
    return f"{whole}%"


def _phase_tag(phase: str) -> str:
    return " (trial)" if phase == "trial" else ""


def describe(progress: Progress) -> str:
    """One plain line: `== progress: label 30/100 (30%) 12.5/s, 0:06 left` (a trial's:
    `== progress (trial): ...`); starts like evalpod's own lines, which no job line can
    (`evalpod.logs.events.render`)."""
    label = progress.description or f"bar {progress.bar}"
    text = f"{SERVICE_PREFIX}progress{_phase_tag(progress.phase)}: {label} {_amount(progress.done)}"
    if progress.total is not None:
        text += f"/{_amount(progress.total)} ({percent(progress.fraction or 0)})"
    if progress.rate:
        text += f" {progress.rate:,.2f}/s"
    if progress.final:
        text += ", done"
    elif progress.eta_s is not None:
        text += f", {clock(progress.eta_s)} left"
    return text
