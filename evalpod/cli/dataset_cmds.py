"""`evalpod datasets`, `evalpod benchmarks` and `evalpod leaderboard` (HTTP API clients)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

datasets_app = typer.Typer(help="The dataset registry.", no_args_is_help=True)
benchmarks_app = typer.Typer(help="Versioned benchmarks (admin).", no_args_is_help=True)
FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet",
           ".pq": "parquet"}
UPLOAD_CHUNK = 1024 * 1024
# A rate-limited call (a key's requests per minute) waits this long in all before failing.
RATE_WAIT_MAX_S = 120.0
# `datasets add --wait` polls the version from every 0.5 s up to every 5 s.
POLL_FIRST_S, POLL_MAX_S = 0.5, 5.0
# `leaderboard` counts the runs in progress among at most this many of the version's runs.
RUNS_SCANNED_MAX = 2000


class Api:
    """JSON calls to /api/v1 with the SDK's URL and key resolution; errors as `ApiError`."""

    def __init__(self) -> None:
        import httpx

        from evalpod.sdk._core import resolve_key, resolve_url

        self.http = httpx.Client(base_url=resolve_url(None) + "/api/v1",
                                 headers={"Authorization": f"Bearer {resolve_key(None)}"},
                                 timeout=httpx.Timeout(60.0, read=600.0))

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON answer; a 429 RATE_LIMITED (or a 503 to a GET) is waited out, its
        Retry-After at least the backoff, up to RATE_WAIT_MAX_S in all; a streamed upload
        (`content`) is never sent twice. Raises `ApiError`."""
        from evalpod.sdk._core import stream_retry_delay
        from evalpod.sdk.errors import ApiError

        waited, attempt = 0.0, 0
        while True:
            response = self.http.request(method, path, **kwargs)
            if response.status_code < 400:
                return response.json() if response.content else None
            error = ApiError.from_response(response)
            attempt += 1
            # RATE_LIMITED: refused before anything ran; UNAVAILABLE: only a GET is resent.
            retryable = "content" not in kwargs and (
                error.code == "RATE_LIMITED" or (error.code == "UNAVAILABLE" and method == "GET"))
            pause = stream_retry_delay(error, attempt, None)
            if not retryable or waited + pause > RATE_WAIT_MAX_S:
                raise error
            what = "rate limited" if error.code == "RATE_LIMITED" else "server unavailable"
            print(f"-- {what}; trying again in {pause:g} s", file=sys.stderr, flush=True)
            time.sleep(pause)
            waited += pause


def _call(method: str, path: str, **kwargs: Any) -> Any:
    """One API call; any failure is one line (`error: …`, with the hint) and exit 1."""
    from evalpod.cli.output import reporting_errors

    with reporting_errors():
        return Api().call(method, path, **kwargs)


def _chunks(path: Path) -> Any:
    with path.open("rb") as handle:
        while chunk := handle.read(UPLOAD_CHUNK):
            yield chunk


@datasets_app.command("add")
def add(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    name: Annotated[str, typer.Option("--name", help="Dataset name (created if new).")],
    version: Annotated[str | None, typer.Option(help="Version label; default the next "
                                                "number.")] = None,
    hidden_column: Annotated[list[str] | None, typer.Option(
        "--hidden-column", help="A column only the trusted scorer reads (repeatable).")] = None,
    id_column: Annotated[str, typer.Option(help="Row id column.")] = "id",
    split: str = "test",
    file_format: Annotated[str | None, typer.Option("--format", help="jsonl, csv or parquet; "
                                                    "default from the file name.")] = None,
    description: str = "",
    modality: str = "text",
    wait: Annotated[bool, typer.Option(help="Wait for the sandbox check.")] = True,
) -> None:
    """Upload FILE as a new version of dataset NAME (streamed; checked in the sandbox)."""
    from evalpod.cli.output import fail, reporting_errors
    from evalpod.sdk.errors import ApiError

    fmt = file_format or FORMATS.get(file.suffix.lower())
    if fmt is None:
        fail(f"{file}: cannot tell the format from its name; pass --format jsonl, csv or "
             "parquet")
    params: dict[str, Any] = {"format": fmt, "split": split, "id_column": id_column}
    if version:
        params["version"] = version
    if hidden_column:
        params["hidden_column"] = hidden_column
    with reporting_errors():
        client = Api()
        try:
            client.call("GET", f"/datasets/{name}")
        except ApiError as exc:  # a new name (404): create the dataset
            if exc.status_code != 404:
                raise
            client.call("POST", "/datasets", json={"name": name, "description": description,
                                                   "modality": modality})
        created = client.call("POST", f"/datasets/{name}/versions", params=params,
                              content=_chunks(file),
                              headers={"Content-Type": "application/octet-stream"})
        ref = f"{name}@{created['version']}"
        uploaded = f"{created['size_bytes']:,} bytes, sha256 {created['sha256'][:12]}…"
        if created["status"] == "processing":
            # The row count is known once the sandbox has read the file.
            typer.echo(f"{ref}: uploaded ({uploaded}); checking it in the sandbox…")
        if not wait:
            typer.echo(f"{ref}: {created['status']}; `evalpod datasets list` shows when it is "
                       "ready")
            return
        pause = POLL_FIRST_S
        while created["status"] == "processing":
            time.sleep(pause)
            pause = min(pause * 1.5, POLL_MAX_S)
            created = client.call("GET", f"/datasets/{name}/versions/{created['version']}")
    typer.echo(f"{ref}: {created['status']}, {_rows(created)}")
    for finding in created["findings"]:
        typer.echo(f"  [{finding['severity']}] {finding['code']}: {finding['message']}")
    if created["status"] != "ready":
        raise typer.Exit(1)


def _rows(version: dict[str, Any]) -> str:
    """"2 rows", or why there is no count (a failed check reads no rows)."""
    count = version.get("row_count")
    if count is not None:
        return f"{count:,} row" + ("" if count == 1 else "s")
    return "no rows read (the findings below say why)" if version["status"] != "ready" \
        else "row count unknown"


@datasets_app.command("list")
def list_datasets(
    q: Annotated[str | None, typer.Option(help="Substring of name or description.")] = None,
    modality: str | None = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Datasets you can use, with their versions."""
    params = {k: v for k, v in {"q": q, "modality": modality, "limit": 200}.items() if v}
    page = _call("GET", "/datasets", params=params)
    if as_json:
        typer.echo(json.dumps(page, indent=2))
        return
    from evalpod.cli.output import print_table

    # Each version as `--dataset` takes it (name@version), then its state.
    print_table(["DATASET", "MODALITY", "VERSIONS (as --dataset takes them)"], [
        [item["name"], item["modality"],
         ", ".join(f"{item['name']}@{v['version']} ({v['status']}, {_short_rows(v)})"
                   for v in item["versions"]) or "no versions"]
        for item in page["items"]])
    shown = len(page["items"])
    if page["total"] > shown:
        typer.echo(f"({shown} of {page['total']} datasets; narrow with --q)", err=True)


def _short_rows(version: dict[str, Any]) -> str:
    count = version.get("row_count")
    if count is not None:
        return f"{count:,} row" + ("" if count == 1 else "s")
    return "checking" if version["status"] == "processing" else "no rows"


def dataset_versions(name: str) -> list[dict[str, Any]] | None:
    """The versions of dataset `name` ({version, status, row_count, …}); None if unknown."""
    from evalpod.sdk.errors import ApiError

    try:
        found = Api().call("GET", f"/datasets/{name}")
    except ApiError as exc:
        if exc.status_code != 404:
            raise
        return None
    versions: list[dict[str, Any]] = found.get("versions") or []
    return versions


@benchmarks_app.command("list")
def list_benchmarks(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every benchmark version, newest first."""
    found = _call("GET", "/benchmarks")
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    from evalpod.cli.output import print_table

    refs = _version_refs() if any(b["dataset_versions"] for b in found) else {}
    print_table(["BENCHMARK", "KIND", "PRIMARY METRIC", "DATASETS", "ID"], [
        [f"{b['name']}@{b['version']}", b["kind"], f"{b['primary_metric']} ({b['direction']})",
         ", ".join(refs.get(v, v) for v in b["dataset_versions"]), b["id"]] for b in found])


def _version_refs() -> dict[str, str]:
    """{dataset version id: name@version} of every dataset this key can see (a version it
    cannot see keeps its id)."""
    refs: dict[str, str] = {}
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 200} | ({"cursor": cursor} if cursor else {})
        page = _call("GET", "/datasets", params=params)
        for item in page["items"]:
            refs |= {v["id"]: f"{item['name']}@{v['version']}" for v in item["versions"]}
        cursor = page.get("next_cursor")
        if not cursor or not page["items"]:
            return refs


@benchmarks_app.command("create")
def create(
    name: Annotated[str, typer.Option("--name")],
    primary_metric: Annotated[str, typer.Option("--primary-metric")],
    script: Annotated[Path | None, typer.Option(exists=True, dir_okay=False)] = None,
    task: Annotated[list[str] | None, typer.Option("--task", help="lm-eval task.")] = None,
    dataset: Annotated[list[str] | None, typer.Option("--dataset", help="name@version.")] = None,
    scorer: Annotated[str | None, typer.Option(help="Trusted scorer metric, e.g. f1.")] = None,
    scorer_dataset: Annotated[str | None, typer.Option()] = None,
    answer_column: Annotated[str | None, typer.Option(help="The hidden column to score "
                                                      "against.")] = None,
    direction: str = "higher",
    description: str = "",
    timeout: int = 300,
    memory_mb: int = 4096,
) -> None:
    """Create the next version of benchmark NAME (admin)."""
    body: dict[str, Any] = {
        "name": name, "primary_metric": primary_metric, "direction": direction,
        "description": description, "datasets": dataset or [],
        "config": {"timeout_s": timeout, "memory_mb": memory_mb}}
    if script is not None:
        body["script"] = script.read_text(encoding="utf-8")
    if task:
        body |= {"kind": "lm_eval", "tasks": task}
    if scorer:
        first = (dataset or [""])[0].split("@")[0]
        body["scorer"] = {"metric": scorer, "dataset": scorer_dataset or first,
                          "column": answer_column or "answer"}
    created = _call("POST", "/benchmarks", json=body)
    typer.echo(f"{created['name']}@{created['version']} ({created['id']})")


@benchmarks_app.command("run")
def run(
    name: Annotated[str, typer.Argument(help="name, name@version or id.")],
    models: Annotated[str, typer.Option("--models", help="Comma-separated model ids.")],
) -> None:
    """Run a benchmark version on each model (admin)."""
    body = {"models": [m.strip() for m in models.split(",") if m.strip()]}
    created = _call("POST", f"/benchmarks/{name}/runs", json=body)
    for item in created["runs"]:
        typer.echo(f"{created['benchmark']} on {item['model_id']}: {item['evaluation_id']}")


def render_leaderboard(board: dict[str, Any], runs: list[dict[str, Any]] | None = None) -> str:
    """The leaderboard as aligned columns, then what is missing from it: the version's runs
    (`runs`, items of GET /evaluations?tag=benchmark:LABEL) still in progress, and failed
    ones of models with no row, with the command that lists them."""
    from evalpod.cli.output import table_lines

    metric = board["primary_metric"]
    rows = [["—" if r["rank"] is None else str(r["rank"]), r["model_id"],
             "—" if r["score"] is None else f"{r['score']:.4f}",
             "" if r["stderr"] is None else f"±{r['stderr']:.4f}", r["evaluation_id"]]
            for r in board["rows"]]
    lines = [f"{board['benchmark']}  (rank by {metric}, {board['direction']} is better)"]
    if rows:
        lines += table_lines(["RANK", "MODEL", metric.upper(), "STDERR", "EVALUATION"], rows,
                             right=(0, 2, 3))
    else:
        lines.append("no succeeded runs yet")
    missing = _missing_runs(board, runs or [])
    if missing:
        lines.append(f"{missing}: evalpod list --tag benchmark={board['benchmark']}")
    return "\n".join(lines)


def _missing_runs(board: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    """"2 runs in progress, 1 failed" (failed: models with no row whose runs all ended
    otherwise), or ""."""
    from evalpod.lifecycle import LIVE

    live = {s.value for s in LIVE}
    ranked = {r["model_id"] for r in board["rows"]}
    running = sum(1 for r in runs if r["status"] in live)
    failed = {r["model_id"] for r in runs
              if r["status"] not in live and r["status"] != "succeeded"
              and r["model_id"] not in ranked}
    parts = []
    if running:
        parts.append(f"{running} run{'s' if running != 1 else ''} in progress")
    if failed:
        parts.append(f"{len(failed)} failed")
    return ", ".join(parts)


def _benchmark_runs(label: str) -> list[dict[str, Any]]:
    """This key's evaluations tagged benchmark=LABEL (the runs `benchmarks run` created),
    newest first, at most RUNS_SCANNED_MAX."""
    found: list[dict[str, Any]] = []
    cursor = None
    while len(found) < RUNS_SCANNED_MAX:
        params: dict[str, Any] = {"tag": f"benchmark:{label}", "limit": 200}
        page = _call("GET", "/evaluations", params=params | ({"cursor": cursor} if cursor
                                                              else {}))
        found += page["items"]
        cursor = page.get("next_cursor")
        if not cursor or not page["items"]:
            break
    return found


def leaderboard(
    name: Annotated[str, typer.Argument(help="name, name@version or id.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Print a benchmark version's leaderboard, and how many of its runs are still in
    progress or failed."""
    board = _call("GET", f"/benchmarks/{name}/leaderboard")
    if as_json:
        typer.echo(json.dumps(board, indent=2))
        return
    typer.echo(render_leaderboard(board, _benchmark_runs(board["benchmark"])))


def register(app: typer.Typer) -> None:
    app.add_typer(datasets_app, name="datasets")
    app.add_typer(benchmarks_app, name="benchmarks")
    app.command("leaderboard")(leaderboard)
