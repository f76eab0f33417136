"""The SSE wire format of `GET /evaluations/{id}/logs`, shared by the server and clients.

A `log` event's data is one JSON object, `LogLine`; an `end` event's data is the terminal
status. No Redis or database here: the SDK and CLI import this module.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ValidationError

from evalpod.display import neutralise


class LogLine(BaseModel):
    """The data of one `log` event.

    `text`: the line, control characters neutralised (`evalpod.display.neutralise`).
    `phase`: `trial` (the validator's trial run on the model's shadow) or `run`.
    `source`: `job` (anything the sandbox printed, the in-sandbox harness included) or
    `evalpod` (a line the host wrote about the job; no job can produce one).
    `continues`: the line goes on in the next `log` event (a line over 64 KiB is cut
    between characters into pieces; join them to get the line).
    """

    text: str
    phase: Literal["trial", "run"] = "run"
    source: Literal["job", "evalpod"] = "job"
    continues: bool = False

    def to_data(self) -> str:
        return json.dumps(self.model_dump(), ensure_ascii=False)


def parse_log_data(data: str) -> LogLine:
    """A `log` event's data as a `LogLine`; data that is not one is a plain line of text."""
    try:
        return LogLine.model_validate_json(data)
    except ValidationError:
        return LogLine(text=neutralise(data))


# Every line a client prints of its own (evalpod's notes, progress, statuses) starts with
# one of these; every line a job printed starts with a gutter, so whatever a job prints
# (`== evalpod: run succeeded`, `trial | == evalpod: ...`, a fake progress line, in any
# look-alike characters) is shown after its gutter, never at the start of a line.
SERVICE_PREFIX = "== "
JOB_GUTTER = "| "
TRIAL_GUTTER = "trial | "


def job_gutter(phase: str) -> str:
    """What starts each line a job printed: `| ` for the run, `trial | ` for the trial."""
    return TRIAL_GUTTER if phase == "trial" else JOB_GUTTER


def render(line: LogLine) -> str:
    """One line for a terminal: a job's line after its gutter (`| text`, `trial | text`),
    evalpod's own as `== evalpod: text` (`== evalpod (trial): text`). `source` is set by
    the host, so no job line can start like one of evalpod's."""
    if line.source == "evalpod":
        tag = " (trial)" if line.phase == "trial" else ""
        return f"{SERVICE_PREFIX}evalpod{tag}: {neutralise(line.text)}"
    return job_gutter(line.phase) + neutralise(line.text)
