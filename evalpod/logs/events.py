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


def render(line: LogLine) -> str:
    """One line for a terminal: the trial's lines and evalpod's own marked as such."""
    prefix = "trial | " if line.phase == "trial" else ""
    if line.source == "evalpod":
        prefix += "== evalpod: "
    return prefix + neutralise(line.text)
