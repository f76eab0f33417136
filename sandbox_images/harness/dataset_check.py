"""In-sandbox dataset check: parse an untrusted upload, report findings, write Arrow.

Runs as a harness job of kind `dataset_check` (trusted code, untrusted input). Reads
`/input/<file>` with the runtime's pyarrow, and on success writes two Arrow IPC
stream files that `datasets.Dataset.from_file` memory-maps:
`/export/public/<split>.arrow` (every column but the hidden ones) and
`/export/hidden/<split>.arrow` (the id column plus the hidden ones). The report is
the job's result; the host decides `ready` or `failed` from it.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

MAX_FINDINGS = 20
SAMPLE_IDS = 10
CHUNK = 1 << 20
GENERATED_ID = "id"


class Findings:
    """Findings in report order; `error` ones make the version `failed`."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, code: str, message: str, *, severity: str = "error", **where: Any) -> None:
        if len(self.items) < MAX_FINDINGS:
            self.items.append({"code": code, "severity": severity, "message": message, **where})

    @property
    def failed(self) -> bool:
        return any(item["severity"] == "error" for item in self.items)


def _chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def check_utf8(path: str, findings: Findings) -> bool:
    """Decode the whole file as UTF-8 in chunks; report the first bad byte's line."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset, line = 0, 1
    for chunk in _chunks(path):
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            bad = offset + exc.start
            line += chunk[: exc.start].count(b"\n")
            findings.add("BAD_ENCODING", f"not UTF-8: byte 0x{chunk[exc.start]:02x} at offset "
                         f"{bad} (line {line})", line=line, offset=bad)
            return False
        offset += len(chunk)
        line += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        findings.add("BAD_ENCODING", "not UTF-8: the file ends inside a multi-byte character",
                     line=line, offset=offset)
        return False
    return True


def _lines(path: str) -> Iterator[tuple[int, str]]:
    with open(path, encoding="utf-8-sig") as handle:
        yield from enumerate(handle, start=1)


def read_jsonl(path: str, findings: Findings) -> pa.Table | None:
    rows: list[dict[str, Any]] = []
    for number, text in _lines(path):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as exc:
            findings.add("INVALID_JSON", f"line {number}: {exc.msg}", line=number)
            continue
        if not isinstance(row, dict):
            findings.add("INVALID_JSON", f"line {number}: a row must be a JSON object, "
                         f"got {type(row).__name__}", line=number)
            continue
        rows.append(row)
    if findings.failed:
        return None
    try:
        return pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        findings.add("INCONSISTENT_TYPES", f"a column mixes value types: {exc}")
        return None


def read_csv(path: str, findings: Findings) -> pa.Table | None:
    import pyarrow.csv as pacsv

    width: int | None = None
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            if not row:
                continue
            if width is None:
                width = len(row)
            elif len(row) != width:
                findings.add("RAGGED_CSV", f"row {number} has {len(row)} fields; the header "
                             f"has {width}", line=number)
    if findings.failed:
        return None
    try:
        return pacsv.read_csv(path)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        findings.add("UNREADABLE_CSV", f"CSV could not be parsed: {exc}")
        return None


def read_parquet(path: str, findings: Findings) -> pa.Table | None:
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        findings.add("UNREADABLE_PARQUET", f"not a readable Parquet file: {exc}")
        return None


def check_ids(table: pa.Table, id_column: str, findings: Findings) -> pa.Table:
    """Ids must be present and unique; without an id column, row numbers become ids."""
    if id_column not in table.column_names:
        findings.add("IDS_GENERATED", f"no {id_column!r} column: ids are the row numbers "
                     "0..n-1 (as strings)", severity="info")
        ids = pa.array([str(i) for i in range(table.num_rows)], pa.string())
        return table.append_column(id_column, ids)
    ids = table.column(id_column)
    if ids.null_count:
        findings.add("MISSING_IDS", f"{ids.null_count} rows have no {id_column!r}")
    counts = table.group_by(id_column).aggregate([(id_column, "count")])
    repeated = counts.filter(pc.greater(counts.column(f"{id_column}_count"), 1))
    if repeated.num_rows:
        sample = [str(v) for v in repeated.column(id_column).to_pylist()[:SAMPLE_IDS]]
        findings.add("DUPLICATE_IDS", f"{repeated.num_rows} ids appear more than once, "
                     f"e.g. {', '.join(sample)}", ids=sample)
    if not pa.types.is_string(ids.type) and not pa.types.is_large_string(ids.type):
        table = table.set_column(table.column_names.index(id_column), id_column,
                                 pc.cast(ids, pa.string()))
    return table


def column_statistics(table: pa.Table) -> dict[str, Any]:
    stats: dict[str, Any] = {}
    longest = 0
    for name in table.column_names:
        column = table.column(name)
        entry: dict[str, Any] = {"type": str(column.type), "nulls": column.null_count}
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            lengths = pc.utf8_length(column)
            entry["max_chars"] = pc.max(lengths).as_py()
            entry["mean_chars"] = pc.mean(lengths).as_py()
            longest = max(longest, entry["max_chars"] or 0)
        elif pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
            bounds = pc.min_max(column)
            entry["min"], entry["max"] = bounds["min"].as_py(), bounds["max"].as_py()
        stats[name] = entry
    return {"columns": stats, "longest_text_chars": longest}


def write_stream(table: pa.Table, path: str) -> int:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=10_000)
    return os.path.getsize(path)


READERS = {"jsonl": read_jsonl, "csv": read_csv, "parquet": read_parquet}


def _parse(options: dict[str, Any], findings: Findings) -> pa.Table | None:
    path = str(options["input_path"])
    if os.path.getsize(path) == 0:
        findings.add("EMPTY_FILE", "the file is empty")
        return None
    fmt = str(options["format"])
    if fmt != "parquet" and not check_utf8(path, findings):
        return None
    table = READERS[fmt](path, findings)
    if table is not None and table.num_rows == 0:
        findings.add("EMPTY_FILE", "the file has no rows")
        return None
    return table


def run_check(spec: dict[str, Any]) -> dict[str, Any]:
    """The report: {ok, findings, row_count, columns, statistics, splits, files}."""
    options = dict(spec.get("options") or {})
    findings = Findings()
    table = _parse(options, findings)
    report: dict[str, Any] = {"ok": False, "findings": findings.items}
    if table is None:
        return report
    id_column = str(options.get("id_column") or GENERATED_ID)
    hidden = [str(c) for c in options.get("hidden_columns") or []]
    table = check_ids(table, id_column, findings)
    for name in hidden:
        if name not in table.column_names:
            findings.add("MISSING_COLUMN", f"hidden column {name!r} is not in the file")
        elif name == id_column:
            findings.add("MISSING_COLUMN", "the id column cannot be hidden")
    report |= {"row_count": table.num_rows,
               "columns": [{"name": f.name, "type": str(f.type),
                            "hidden": f.name in hidden} for f in table.schema],
               "statistics": column_statistics(table.drop_columns(
                   [c for c in hidden if c in table.column_names]))}
    if findings.failed:
        return report
    split = str(options.get("split") or "test")
    export = str(options.get("export_dir") or "/export")
    public = table.drop_columns(hidden)
    files = {f"public/{split}.arrow": write_stream(public, f"{export}/public/{split}.arrow")}
    if hidden:
        answers = table.select([id_column, *hidden])
        files[f"hidden/{split}.arrow"] = write_stream(answers, f"{export}/hidden/{split}.arrow")
    report |= {"ok": True, "splits": {split: table.num_rows}, "files": files}
    return report


def describe(report: dict[str, Any]) -> str:
    """One line per finding, for the job log."""
    out = io.StringIO()
    for item in report.get("findings", []):
        out.write(f"[{item['severity']}] {item['code']}: {item['message']}\n")
    return out.getvalue()
