"""How client commands talk to people: one-line errors, JSON output, tables, the SDK client.

Every failure ends the command with one line on stderr (`error: …`) and exit status 1;
usage errors are Click's (status 2); an interrupt is 130.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from evalpod.cli.hints import for_cli
from evalpod.display import neutralise

if TYPE_CHECKING:
    from evalpod.sdk import Client, SdkError
    from evalpod.sdk.errors import ApiError

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
MAX_FIELD_ERRORS = 4


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {one_line(message)}", err=True)
    raise typer.Exit(EXIT_ERROR)


def one_line(text: str) -> str:
    """Neutralised, with line breaks as ' / ': what a server or script says stays one line."""
    return neutralise(" / ".join(part.strip() for part in text.splitlines() if part.strip()))


def describe(error: SdkError) -> str:
    """One line for any SDK error: what happened, the server's detail, what to do."""
    from evalpod.sdk import MissingApiKey, ServerUnreachable
    from evalpod.sdk.errors import ApiError

    if isinstance(error, ServerUnreachable):
        return (f"cannot reach the evalpod API at {error.url} ({error.reason}); start it with "
                "`evalpod up`, or set EVALPOD_URL to where it runs")
    if isinstance(error, MissingApiKey):
        return (f"{error}; set EVALPOD_API_KEY (an operator creates one with `evalpod keys "
                "create --tenant NAME`), or run `evalpod up` in this directory")
    if isinstance(error, ApiError):
        return _describe_api_error(error)
    return str(error)


def _describe_api_error(error: ApiError) -> str:
    parts = [error.message.rstrip(".")]
    detail = error.detail
    if isinstance(detail.get("line"), int):
        where = f"line {detail['line']}"
        if isinstance(detail.get("column"), int):
            where += f", column {detail['column']}"
        parts[0] += f" ({where})"
    # A detail entry that only says the message again (the server often puts the one
    # finding or field error in both) is not repeated.
    field_errors = [e for e in detail.get("errors") or [] if isinstance(e, dict)
                    and not _said(_bare(e, "message", e.get("field")), parts[0])]
    if field_errors:
        # "invalid request: query.status" names the fields the errors then name again.
        head, sep, named = parts[0].rpartition(": ")
        fields = {str(e.get("field") or "body") for e in field_errors}
        if sep and {n.strip() for n in named.split(",")} <= fields:
            parts[0] = head
        shown = [_field_text(e) for e in field_errors[:MAX_FIELD_ERRORS]]
        more = len(field_errors) - len(shown)
        parts.append("; ".join(shown) + (f" (+{more} more)" if more > 0 else ""))
    findings = [f for f in detail.get("findings") or [] if isinstance(f, dict)]
    if findings:
        # The message often quotes the first finding, which follows in full: say it once.
        first = f": {findings[0].get('message', '')}"
        if len(first) > 2 and parts[0].endswith(first):
            parts[0] = parts[0][:-len(first)]
        said = [f for f in findings if _said(_bare(f, "message"), parts[0])]
        # A finding said by the message still names its rule, for docs/validation.md.
        rules = list(dict.fromkeys(str(f["rule"]) for f in said if f.get("rule")))
        if rules:
            parts[0] += f" ({', '.join(rules)})"
        findings = [f for f in findings if f not in said]
    if findings:
        parts.append("; ".join(_finding_text(f) for f in findings[:MAX_FIELD_ERRORS]))
    line = ": ".join(parts) + f" [{error.code}]"
    if error.retry_after_s is not None:
        line += f"; retry in {error.retry_after_s:g} s"
    if error.api_hint:  # the server's words (routes), said as CLI commands
        line += f"; hint: {for_cli(error.api_hint)}"
    return line


def _bare(entry: dict[str, Any], key: str, prefix: object = None) -> str:
    """`entry[key]` without a leading "PREFIX: " (a field error names its field twice)."""
    text = str(entry.get(key) or "").strip().rstrip(".")
    if isinstance(prefix, str) and text.startswith(f"{prefix}:"):
        text = text[len(prefix) + 1:].strip()
    return text


def _said(text: str, message: str) -> bool:
    """Whether `message` already says `text` (case and spacing aside)."""
    def norm(value: str) -> str:
        return " ".join(value.split()).casefold()

    return bool(text) and norm(text) in norm(message)


def _field_text(error: dict[str, Any]) -> str:
    field, message = error.get("field") or "body", str(error.get("message", ""))
    return message if message.startswith(f"{field}:") else f"{field}: {message}"


def _finding_text(finding: dict[str, Any]) -> str:
    where = ""
    if finding.get("line"):
        where = f"line {finding['line']}"
        if finding.get("column") is not None:
            where += f":{finding['column']}"
        where += " "
    return f"{where}{finding.get('rule', '')} {finding.get('message', '')}".strip()


@contextmanager
def reporting_errors(on_interrupt: str = "interrupted") -> Iterator[None]:
    """Turn SDK errors into one line and exit 1; Ctrl-C into `on_interrupt` and exit 130."""
    from evalpod.sdk import SdkError

    try:
        yield
    except SdkError as error:
        fail(describe(error))
    except KeyboardInterrupt:
        typer.echo(on_interrupt, err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None


def connect(max_retries: int = 1) -> Client:
    """The SDK client for EVALPOD_URL / EVALPOD_API_KEY (inside `reporting_errors`)."""
    from evalpod.sdk import Client

    # The CLI answers fast when the server is down: one retry, not the SDK's default two.
    return Client(max_retries=max_retries)


def print_json(value: Any) -> None:
    """One JSON document on stdout (pydantic models as their JSON), nothing else."""
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    elif isinstance(value, list):
        value = [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, allow_nan=False) + "\n")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *,
                fit_last: bool = False, right: Sequence[int] = ()) -> None:
    """Plain aligned columns under a header row (pipes well into grep/awk); cells are
    neutralised and never cut, except that with `fit_last` on a terminal the last column
    (free text, such as a description) is cut at a word, with an ellipsis, to the width.
    Columns whose indexes are in `right` (numbers) are right-aligned, header included."""
    room = None
    if fit_last and sys.stdout.isatty():
        import shutil

        room = shutil.get_terminal_size().columns
    for line in table_lines(headers, rows, right=right, width=room):
        typer.echo(line)


def table_lines(headers: Sequence[str], rows: Sequence[Sequence[str]], *,
                right: Sequence[int] = (), width: int | None = None) -> list[str]:
    """The lines of `print_table`: each column as wide as its widest cell or header, two
    spaces apart; with `width`, the last column is cut at a word to fit it."""
    cells = [[neutralise(c) for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    room = None if width is None else width - sum(w + 2 for w in widths[:-1])
    lines = []
    for row in [list(headers), *cells]:
        if room is not None:
            row = [*row[:-1], cut_words(row[-1], room)]
        lines.append("  ".join(c.rjust(w) if i in right else c.ljust(w)
                               for i, (c, w) in enumerate(zip(row, widths, strict=True)))
                     .rstrip())
    return lines


def cut_words(text: str, width: int, *, minimum: int = 20) -> str:
    """`text` in at most `width` characters (never fewer than `minimum`), cut after a whole
    word and ended with an ellipsis when it had to be cut."""
    width = max(width, minimum)
    if len(text) <= width:
        return text
    head = text[:width - 1]
    if " " in head and not text[width - 1].isspace():
        head = head.rsplit(" ", 1)[0]
    return head.rstrip(" ,;:") + "…"


def violation_line(kind: str, detail: str, line: int | None = None) -> str:
    """A run's violation as every command prints it: `violation: KIND: DETAIL (line N)`."""
    where = f" (line {line})" if line else ""
    return f"violation: {kind}: {one_line(detail)}{where}"
