"""Client commands over the Python SDK: submit, status, logs, cancel, list, validate, tenant.

They read `EVALPOD_URL` and `EVALPOD_API_KEY` (else the local admin key file). Each error is
one line on stderr and exit status 1; `--json` prints exactly one JSON document on stdout.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated

import typer

from evalpod.cli.hints import for_cli
from evalpod.cli.output import (
    EXIT_ERROR,
    connect,
    fail,
    one_line,
    print_json,
    print_table,
    reporting_errors,
    violation_line,
)
from evalpod.cli.progress import LogPrinter
from evalpod.display import neutralise
from evalpod.logs.events import parse_log_data

if TYPE_CHECKING:
    from evalpod.sdk import Client
    from evalpod.sdk.models import Evaluation, Finding, LogEvent

# httpx and the SDK are imported only by the commands that talk to the API: `evalpod sandbox
# run` and the server commands start faster without them.
MAX_REFOLLOWS = 10
# The statuses an evaluation passes through before its end, in order. A run line proves the
# run started; the trial's lines come while it is still pending_validation.
LIVE_ORDER = ("pending_validation", "validated", "executing")
# Between its submit and its first run line the stream may stay silent for minutes (a queue,
# a trial that prints nothing): /status is asked then, from every 1 s up to every 10 s, and
# only once the stream has been quiet for QUIET_S (everything sent so far is printed, so a
# status is never shown before lines that came before it). A key's requests-per-minute
# limit (100 by default) is never spent on it; a RATE_LIMITED answer's Retry-After is kept.
STATUS_POLL_FIRST_S = 1.0
STATUS_POLL_MAX_S = 10.0
STATUS_POLL_GROWTH = 1.5
QUIET_S = 0.5
# Reading the final record: how long a RATE_LIMITED answer may make us wait, in all.
MAX_RATE_WAIT_S = 120.0

# `submit` and `validate` default to the model `evalpod up` registers, so a first run needs
# no --model (evalpod.registry.TINY_MODEL_ID; not imported: it pulls in the database).
DEFAULT_MODEL = "tiny-gpt2"
ModelOpt = Annotated[str, typer.Option("--model", "-m", metavar="MODEL",
                                       help="Registered model id (`evalpod models list`).")]

DatasetOpt = Annotated[list[str] | None, typer.Option(
    "--dataset", metavar="NAME@VERSION",
    help="Mount a dataset version for evaluate_model(model, data) (repeatable). The "
    "version is required, so a new upload never changes what a rerun reads; "
    "`evalpod datasets list` shows them.",
    show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document, nothing else.")]
IdArg = Annotated[str, typer.Argument(metavar="ID", help="Evaluation id (ev_…).")]


def _parse_tags(tags: list[str]) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for tag in tags:
        key, sep, value = tag.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{tag!r} is not KEY=VALUE", param_hint="--tag")
        parsed[key] = value
    return parsed


def submit(
    file: Annotated[Path | None, typer.Argument(
        metavar="FILE", dir_okay=False, help="Script defining evaluate_model(model).",
        show_default=False)] = None,
    model: ModelOpt = DEFAULT_MODEL,
    lm_eval: Annotated[str | None, typer.Option(
        "--lm-eval", metavar="TASKS",
        help="Run lm-eval tasks (comma-separated; see `evalpod lm-eval tasks`) instead of "
        "a script.")] = None,
    num_fewshot: Annotated[int, typer.Option(metavar="N", help="lm-eval: few-shot examples."
                                             )] = 0,
    limit: Annotated[int | None, typer.Option(metavar="N", help="lm-eval: rows per task.",
                                              show_default=False)] = None,
    follow: Annotated[bool, typer.Option(
        "--follow", "-f", help="Stream the log; exit 0 only on success. With --json: the log "
        "on stderr, the final record on stdout.")] = False,
    timeout: Annotated[int | None, typer.Option(metavar="SECONDS", help="Run time limit.",
                                                show_default=False)] = None,
    gpus: Annotated[int | None, typer.Option(metavar="N", help="GPUs to assign.",
                                             show_default=False)] = None,
    memory_mb: Annotated[int | None, typer.Option(metavar="MIB", help="Memory limit.",
                                                  show_default=False)] = None,
    priority: Annotated[int, typer.Option(metavar="P", help="Queue priority.")] = 0,
    tag: Annotated[list[str] | None, typer.Option(
        "--tag", metavar="KEY=VALUE", help="Tag the evaluation (repeatable).",
        show_default=False)] = None,
    callback_url: Annotated[str | None, typer.Option(
        metavar="URL", help="Called on every terminal status.", show_default=False)] = None,
    idempotency_key: Annotated[str | None, typer.Option(
        metavar="KEY", help="Repeat a submit safely (default: a fresh key).",
        show_default=False)] = None,
    dataset: DatasetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Submit a script (or lm-eval tasks); prints the evaluation id."""
    tasks = [t.strip() for t in lm_eval.split(",") if t.strip()] if lm_eval else None
    if (file is None) == (tasks is None):
        raise typer.BadParameter("give a script FILE or --lm-eval TASKS (one of them)")
    script = _read_script(file) if file is not None else None
    with reporting_errors():
        for ref in dataset or []:
            _check_dataset_ref(ref)
        client = connect()
        accepted = client.submit(
            script, model=model, tasks=tasks, num_fewshot=num_fewshot, limit=limit,
            timeout_s=timeout, gpus=gpus, memory_mb=memory_mb, priority=priority,
            tags=_parse_tags(tag or []), callback_url=callback_url,
            idempotency_key=idempotency_key, datasets=dataset)
    evaluation_id = accepted.evaluation_id
    if as_json and not follow:
        print_json(accepted)
        return
    place = ("" if accepted.queue_position is None
             else f", queue position {accepted.queue_position}")
    typer.echo(f"submitted {evaluation_id} ({accepted.status}{place})", err=True)
    if not follow:
        typer.echo(evaluation_id)
        return
    raise typer.Exit(_follow(client, evaluation_id, status=accepted.status, as_json=as_json))


def _check_dataset_ref(ref: str) -> None:
    """A `--dataset` without its version: one line saying the form and the versions there are.

    Not resolved to the newest version: an evaluation's data stays what its command says.
    """
    name, at, version = ref.partition("@")
    if at and name and version:
        return
    from evalpod.cli.dataset_cmds import dataset_versions

    form = f"--dataset {ref}: name a version, as NAME@VERSION"
    versions = dataset_versions(name) if name and "/" not in name else None
    if versions is None:
        fail(f"{form}; there is no dataset {name!r} (`evalpod datasets list` shows yours)")
    if not versions:
        fail(f"{form}; {name} has no versions yet (`evalpod datasets add FILE --name {name}`)")
    listed = ", ".join(f"{v['version']} ({v['status']})" for v in versions)
    ready = [v["version"] for v in versions if v["status"] == "ready"]
    example = f" e.g. --dataset {name}@{ready[-1]}" if ready else ""
    fail(f"{form}; {name} has versions {listed}.{example}")


def _read_script(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"{file}: no such file")
    except UnicodeDecodeError as exc:
        fail(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})")
    except OSError as exc:
        fail(f"{file}: cannot read it ({exc.strerror})")


def _follow(client: Client, evaluation_id: str, *, status: str, as_json: bool = False) -> int:
    """Stream until the end; the outcome printed and the exit status come from the record.

    `status` is the one already shown (by submit) or known (by logs); later status changes
    are printed in order with the log's lines. `as_json`: the log goes to stderr and the
    record, as one JSON document, to stdout.
    """
    log_file = sys.stderr if as_json else None
    interrupted = (f"stopped following; {evaluation_id} continues on the server. Reattach: "
                   f"evalpod logs {evaluation_id} --follow   Cancel: evalpod cancel "
                   f"{evaluation_id}")
    statuses = _StatusLine(status)
    with reporting_errors(on_interrupt=interrupted):
        # The log holds the trial's lines, then the run's; it ends once the status is final.
        # Should it end while the record is not final (a run handed back for another
        # attempt), keep following after the last line shown.
        poller = _StatusPoller(evaluation_id)
        last = _print_log(client, evaluation_id, follow=True, statuses=statuses, poller=poller,
                          file=log_file)
        record = _read_record(client, evaluation_id)
        for _ in range(MAX_REFOLLOWS):
            if record.terminal:
                break
            typer.echo(f"-- {record.status}; following on", err=True)
            last = _print_log(client, evaluation_id, follow=True, after=last, file=log_file)
            record = _read_record(client, evaluation_id)
    if as_json:
        print_json(record)
    else:
        _print_outcome(record, notes=False)
    return 0 if record.status == "succeeded" else EXIT_ERROR


def _read_record(client: Client, evaluation_id: str) -> Evaluation:
    """The record, read once; a RATE_LIMITED answer is waited out (its Retry-After)."""
    from evalpod.sdk.errors import RateLimited

    waited = 0.0
    while True:
        try:
            return client.get(evaluation_id)
        except RateLimited as error:
            pause = error.retry_after_s or STATUS_POLL_MAX_S
            if waited + pause > MAX_RATE_WAIT_S:
                raise
            typer.echo(f"-- rate limited; reading the outcome in {pause:g} s", err=True)
            time.sleep(pause)
            waited += pause


class _StatusLine:
    """Status changes on stderr (`-- validated`), each once, in the order they happen."""

    def __init__(self, shown: str) -> None:
        self.shown = shown

    def advance(self, status: str) -> None:
        """Show `status` (and any it must have passed through) unless it is behind us.

        Terminal statuses are left to the outcome line, read from the record.
        """
        if status not in LIVE_ORDER:
            return
        reached = LIVE_ORDER.index(self.shown) if self.shown in LIVE_ORDER else -1
        for passed in LIVE_ORDER[reached + 1:LIVE_ORDER.index(status) + 1]:
            # Through sys.stderr, not click's own stream: while progress bars are drawn,
            # rich redirects sys.stderr above them (else the line lands on a bar's end).
            print(f"-- {passed}", file=sys.stderr, flush=True)
            self.shown = passed

    @property
    def running(self) -> bool:
        return self.shown == LIVE_ORDER[-1]


class _StatusPoller:
    """Asks /status with a growing pause, keeping to a RATE_LIMITED answer's Retry-After.

    Its own client, without the SDK's retries: a rate-limited poll is skipped, not slept on
    while log lines wait to be printed.
    """

    def __init__(self, evaluation_id: str) -> None:
        self.evaluation_id = evaluation_id
        self.pause = STATUS_POLL_FIRST_S
        self.due = time.monotonic() + self.pause
        self._client: Client | None = None

    def poll(self) -> str | None:
        """The current status if a poll is due and answered, else None."""
        from evalpod.sdk import SdkError
        from evalpod.sdk.errors import RateLimited

        if time.monotonic() < self.due:
            return None
        wait = 0.0
        status = None
        try:
            if self._client is None:
                self._client = connect(max_retries=0)
            status = self._client.status(self.evaluation_id).status
        except RateLimited as error:
            wait = error.retry_after_s or 0.0
        except SdkError:
            pass  # the log stream, not this poll, reports a server that went away
        self.pause = min(self.pause * STATUS_POLL_GROWTH, STATUS_POLL_MAX_S)
        self.due = time.monotonic() + max(self.pause, wait)
        return status

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def _print_log(client: Client, evaluation_id: str, *, follow: bool, after: str | None = None,
               statuses: _StatusLine | None = None, poller: _StatusPoller | None = None,
               file: IO[str] | None = None) -> str | None:
    """Print each `log` line (after event id `after`) as it comes; the last event id seen.

    A line a job printed is data of a `log` event whatever it looks like, so a printed
    "event: end" ends nothing; the outcome is read from the record, never from the stream.
    With `statuses`, a run line first shows the statuses up to executing, and while the
    stream is quiet before that, `poller` is asked for the status.
    """
    last = after
    events = _EventPump(client.stream_logs(evaluation_id, follow=follow, last_event_id=after,
                                           on_retry=_say_stream_wait))
    # Lines as they come; progress events as bars on a terminal (evalpod/cli/progress.py).
    with LogPrinter(file) as printer:
        try:
            while True:
                watching = (statuses is not None and poller is not None
                            and not statuses.running)
                try:
                    event = events.next(timeout=QUIET_S if watching else None)
                except queue.Empty:
                    _poll_status(statuses, poller)
                    continue
                if event is None:
                    break
                if event.event in ("log", "progress"):
                    last = event.id or last
                if event.event == "log":
                    line = parse_log_data(event.data)
                    if statuses is not None and line.phase == "run":
                        statuses.advance("executing")
                    printer.line(line)
                elif (progress := event.progress()) is not None:
                    printer.progress(progress)
        finally:
            if poller is not None:
                poller.close()
    return last


def _say_stream_wait(delay_s: float, error: Exception) -> None:
    """A log stream refused for now (429 RATE_LIMITED, 503): say how long until it is
    reopened (the SDK waits the Retry-After; a dropped connection resumes quietly)."""
    from evalpod.sdk.errors import ApiError

    if isinstance(error, ApiError):
        what = "rate limited" if error.code == "RATE_LIMITED" else "server unavailable"
        print(f"-- {what}; the log resumes in {delay_s:g} s", file=sys.stderr, flush=True)


def _poll_status(statuses: _StatusLine | None, poller: _StatusPoller | None) -> None:
    if statuses is not None and poller is not None:
        current = poller.poll()
        if current is not None:
            statuses.advance(current)


class _EventPump:
    """Reads an SSE iterator in a daemon thread, so the reader can wait with a timeout.

    The main thread stays interruptible (Ctrl-C) and can poll while the stream is quiet;
    an error of the stream is raised in the reader.
    """

    def __init__(self, source: Iterator[LogEvent]) -> None:
        self._queue: queue.Queue[LogEvent | Exception | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(source,), daemon=True,
                                        name="evalpod-log-stream")
        self._thread.start()

    def _pump(self, source: Iterator[LogEvent]) -> None:
        try:
            for event in source:
                self._queue.put(event)
        except Exception as error:  # handed to the reader, raised there
            self._queue.put(error)
            return
        self._queue.put(None)

    def next(self, timeout: float | None) -> LogEvent | None:
        """The next event, None at the end; raises `queue.Empty` after `timeout` seconds."""
        item = self._queue.get(timeout=timeout)
        if isinstance(item, Exception):
            raise item
        return item


def _print_outcome(record: Evaluation, *, notes: bool = True) -> None:
    """The record's outcome; with `notes=False` (after a follow) informational findings
    are counted, not listed: they did not stop anything, and `evalpod status` lists them."""
    typer.echo(f"== {record.evaluation_id}: {record.status}")
    if record.result is not None:
        typer.echo(neutralise(json.dumps(record.result, indent=2, sort_keys=True)))
    if record.violation is not None:
        typer.echo(violation_line(record.violation.kind, record.violation.detail,
                                  record.violation.line))
    if record.error and record.status != "succeeded":
        typer.echo(f"error: {one_line(record.error)}")
    shown = [f for f in record.findings if notes or f.severity != "info"]
    for finding in shown:
        typer.echo("  " + _finding_line(finding))
    if len(shown) < len(record.findings):
        count = len(record.findings) - len(shown)
        typer.echo(f"  ({count} informational finding{'s' if count > 1 else ''}: "
                   f"evalpod status {record.evaluation_id})")


def _finding_line(finding: Finding) -> str:
    where = ""
    if finding.line:
        where = f"line {finding.line}" + (f":{finding.column}" if finding.column is not None
                                          else "") + " "
    hint = f" (hint: {for_cli(finding.api_hint)})" if finding.api_hint else ""
    return one_line(f"[{finding.severity}] {where}{finding.rule} {finding.message}{hint}")


def status(
    evaluation_id: IdArg,
    as_json: JsonOpt = False,
) -> None:
    """An evaluation's status, result, violation and findings."""
    with reporting_errors():
        record = connect().get(evaluation_id)
    if as_json:
        print_json(record)
    else:
        _print_outcome(record)


def logs(
    evaluation_id: IdArg,
    follow: Annotated[bool, typer.Option(
        "--follow", "-f", help="Wait for new lines until it ends; exit 0 only on success."
    )] = False,
) -> None:
    """Print an evaluation's log (so far, or --follow to the end)."""
    with reporting_errors():
        client = connect()
        # An unknown id or a dead server fails here, clearly.
        current = client.status(evaluation_id).status
    if follow:
        raise typer.Exit(_follow(client, evaluation_id, status=current))
    from evalpod.sdk.models import TERMINAL_STATUSES

    with reporting_errors():
        _print_log(client, evaluation_id, follow=False)
        current = client.status(evaluation_id).status
    if current in TERMINAL_STATUSES:
        typer.echo(f"-- {evaluation_id}: {current}", err=True)
    else:
        typer.echo(f"-- {evaluation_id} is {current}; more may come: evalpod logs "
                   f"{evaluation_id} --follow", err=True)


def cancel(evaluation_id: IdArg, as_json: JsonOpt = False) -> None:
    """Cancel an evaluation (idempotent)."""
    with reporting_errors():
        result = connect().cancel(evaluation_id)
    if as_json:
        print_json(result)
    else:
        typer.echo(f"{result.evaluation_id}: {result.status}")


def list_evaluations(
    status_filter: Annotated[str | None, typer.Option(
        "--status", metavar="STATUS", help="Only this status.", show_default=False)] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", metavar="MODEL",
                                              show_default=False, help="Only this model.")
                     ] = None,
    tag: Annotated[str | None, typer.Option(
        metavar="KEY[=VALUE]", help="Only evaluations with this tag.", show_default=False)
    ] = None,
    limit: Annotated[int, typer.Option(metavar="N", min=1, help="Show at most N.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Your evaluations, newest first."""
    tag_filter = tag.replace("=", ":", 1) if tag else None
    with reporting_errors():
        items = []
        for item in connect().list(status=status_filter, model_id=model, tag=tag_filter,
                                   page_size=min(limit, 200)):
            items.append(item)
            if len(items) >= limit:
                break
    if as_json:
        print_json(items)
        return
    print_table(["ID", "STATUS", "KIND", "MODEL", "CREATED", "TAGS"], [
        [i.evaluation_id, i.status, i.kind, i.model_id, f"{i.created_at:%Y-%m-%d %H:%M:%S}",
         ",".join(f"{k}={v}" for k, v in sorted(i.tags.items()))] for i in items])


def validate(
    file: Annotated[Path, typer.Argument(metavar="FILE", dir_okay=False,
                                         help="Script to check.")],
    model: ModelOpt = DEFAULT_MODEL,
    deep: Annotated[bool, typer.Option("--deep", help="Also the full static analysis.")
                    ] = False,
    gpus: Annotated[int | None, typer.Option(metavar="N", show_default=False,
                                             help="GPUs to ask for.")] = None,
    dataset: DatasetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Dry-run the submit checks on a script; nothing is stored. Exit 1 if it would fail."""
    script = _read_script(file)
    with reporting_errors():
        for ref in dataset or []:
            _check_dataset_ref(ref)
        report = connect().validate(script, model=model, deep=deep, gpus=gpus,
                                    datasets=dataset)
    if as_json:
        print_json(report)
    else:
        typer.echo(f"{file}: {'valid' if report.valid else 'invalid'}")
        for finding in [*report.errors, *report.warnings]:
            typer.echo("  " + _finding_line(finding))
    if not report.valid:
        raise typer.Exit(EXIT_ERROR)


tenant_app = typer.Typer(help="Your tenant: limits, usage, callback signing.",
                         no_args_is_help=True)


@tenant_app.command("show")
def tenant_show(as_json: JsonOpt = False) -> None:
    """Your tenant's id, effective limits and usage against its quotas."""
    with reporting_errors():
        info = connect().tenant()
    if as_json:
        print_json(info)
        return
    typer.echo(f"tenant {info.name} ({info.tenant_id}); key {info.key_id}, role {info.role}")
    print_table(["QUOTA", "USED", "LIMIT", "REMAINING"], [
        [name, str(u.used), str(u.limit), str(u.remaining)] for name, u in info.usage.items()])
    signing = info.callback_signing
    if signing.previous_valid_until is not None:
        typer.echo(f"callback secret rotated {signing.rotated_at:%Y-%m-%d %H:%M:%S}; the previous "
                   f"one also signs until {signing.previous_valid_until:%Y-%m-%d %H:%M:%S} UTC")


@tenant_app.command("rotate-secret")
def tenant_rotate_secret(
    tenant_id: Annotated[str | None, typer.Option(
        metavar="ID", help="Tenant id (default: yours).", show_default=False)] = None,
    grace: Annotated[int, typer.Option(
        metavar="SECONDS", min=0, help="How long the old secret keeps signing.")] = 86_400,
    as_json: JsonOpt = False,
) -> None:
    """New callback signing secret (admin key), printed once."""
    with reporting_errors():
        rotated = connect().rotate_callback_secret(tenant_id, grace_s=grace)
    if as_json:
        print_json(rotated)
        return
    typer.echo(rotated.callback_secret)
    until = (f"until {rotated.previous_valid_until:%Y-%m-%d %H:%M:%S} UTC"
             if rotated.previous_valid_until else "no longer")
    typer.echo(f"new callback signing secret of {rotated.tenant_id} (shown once); the old one "
               f"also signs {until} (header X-Evalpod-Signature-Previous)", err=True)


def models_list(
    stage: Annotated[str | None, typer.Option(metavar="STAGE", show_default=False,
                                              help="staging, production or archived.")] = None,
    family: Annotated[str | None, typer.Option(metavar="FAMILY", show_default=False,
                                               help="Model family, e.g. gpt2.")] = None,
    query: Annotated[str | None, typer.Option("--query", "-q", metavar="TEXT",
                                              show_default=False, help="Id or name contains.")
                     ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Registered models (from the API)."""
    with reporting_errors():
        items = list(connect().models(stage=stage, family=family, q=query))
    if as_json:
        print_json(items)
        return
    print_table(["ID", "NAME", "STAGE", "FAMILY", "PARAMETERS", "PARENT"], [
        [m.id, m.name, m.stage, m.family or "", f"{m.parameters:,}" if m.parameters else "",
         m.parent_id or ""] for m in items])


def models_show(
    model_id: Annotated[str, typer.Argument(metavar="ID", help="Model id.")],
    as_json: JsonOpt = False,
) -> None:
    """One model: stage, lineage, stage history and your evaluations on it (from the API)."""
    with reporting_errors():
        detail = connect().model(model_id)
    if as_json:
        print_json(detail)
        return
    size = f"{detail.parameters:,} parameters" if detail.parameters else "size unknown"
    typer.echo(neutralise(f"{detail.id} ({detail.name}): {detail.stage}, "
                          f"{detail.family or 'family unknown'}, {size}"))
    for label, refs in (("parents", detail.parents), ("children", detail.children)):
        if refs:
            typer.echo(f"{label}: " + ", ".join(neutralise(r.id) for r in refs))
    for event in detail.stage_history:
        typer.echo(neutralise(f"  {event.from_stage} -> {event.to_stage} by {event.actor}"))
    if detail.evaluations:
        print_table(["EVALUATION", "STATUS", "KIND", "FINISHED"], [
            [e.evaluation_id, e.status, e.kind,
             f"{e.finished_at:%Y-%m-%d %H:%M:%S}" if e.finished_at else ""]
            for e in detail.evaluations])


lm_eval_app = typer.Typer(help="lm-eval tasks (for `evalpod submit --lm-eval`).",
                          no_args_is_help=True)


@lm_eval_app.command("tasks")
def lm_eval_tasks(as_json: JsonOpt = False) -> None:
    """The lm-eval tasks this server can run."""
    with reporting_errors():
        tasks = connect().lm_eval_tasks()
    if as_json:
        print_json(tasks)
        return
    # Names whole (they are what --lm-eval takes); a description fits the terminal.
    print_table(["TASK", "TYPE", "ROWS", "DESCRIPTION"], [
        [t.name, t.output_type or "", "" if t.num_rows is None else str(t.num_rows),
         one_line(t.description or "")] for t in tasks], fit_last=True)


def register(app: typer.Typer) -> None:
    from evalpod.cli.models_cmds import models_app

    # `models add`/`create-tiny` work on the local registry; `models list` asks the API.
    models_app.command("list")(models_list)
    models_app.command("show")(models_show)
    app.command()(submit)
    app.command()(status)
    app.command()(logs)
    app.command()(cancel)
    app.command("list")(list_evaluations)
    app.command()(validate)
    app.add_typer(tenant_app, name="tenant")
    app.add_typer(lm_eval_app, name="lm-eval")
