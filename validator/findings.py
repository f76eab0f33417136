"""What every analyser reports: findings with a rule id, a severity and a position."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Severity = Literal["error", "warning", "info"]


class Finding(BaseModel):
    """One problem in a script. `error` findings block the evaluation."""

    rule: str = Field(description="EP### (evalpod policy), B### (bandit), or a stage id.")
    severity: Severity = "error"
    message: str
    hint: str | None = None
    line: int | None = None
    column: int | None = None


def blocking(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]
