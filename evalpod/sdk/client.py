"""`Client`: the synchronous Python SDK over httpx (`AsyncClient` is its twin)."""

from __future__ import annotations

import builtins
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

import httpx
from httpx_sse import SSEError, connect_sse
from pydantic import BaseModel

from evalpod.sdk import _core
from evalpod.sdk import models as sdk_models
from evalpod.sdk._core import RetryNotice
from evalpod.sdk.errors import ApiError, RateLimited, ServerUnreachable, WaitTimeout

T = TypeVar("T", bound=BaseModel)


class Client:
    """A connection to one evalpod API with one key.

    `base_url` defaults to `EVALPOD_URL` (else http://127.0.0.1:8000); `api_key` to
    `EVALPOD_API_KEY` (else `$EVALPOD_HOME/admin.key`; `MissingApiKey` if neither).
    `timeout_s` bounds each request; `max_retries` re-sends a request that never reached the
    server, or that got 503 / RATE_LIMITED with a short Retry-After. Every method raises
    `ApiError` subclasses for error envelopes and `ServerUnreachable` when no answer comes.
    Use as a context manager, or call `close()`.
    """

    def __init__(self, base_url: str | None = None, api_key: str | None = None, *,
                 timeout_s: float = 30.0, max_retries: int = 2,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = _core.resolve_url(base_url)
        self.max_retries = max_retries
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout_s, transport=transport,
            headers={"Authorization": f"Bearer {_core.resolve_key(api_key)}",
                     "User-Agent": "evalpod-sdk"})

    def __enter__(self) -> Client:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, call: _core.Call[T], *, wait_rate_limits: bool = True) -> T:
        """Send `call`, retried as `_core.retry_delay` says; `wait_rate_limits=False`
        raises `RateLimited` at once (for a caller that paces itself: `wait`)."""
        attempt = 0
        while True:
            try:
                response = self._http.request(call.method, _core.API_PREFIX + call.path,
                                              **call.request_kwargs())
                return call.parse(response)
            except (httpx.TransportError, ApiError) as error:
                attempt += 1
                delay = _core.retry_delay(error, attempt, call.replayable)
                if not wait_rate_limits and isinstance(error, RateLimited):
                    raise
                if delay is None or attempt > self.max_retries:
                    if isinstance(error, httpx.TransportError):
                        raise _core.unreachable(self.base_url, error) from error
                    raise
                time.sleep(delay)

    # -- evaluations ------------------------------------------------------------------------

    def submit(
        self, script: str | os.PathLike[str] | None = None, *, model: str,
        tasks: Sequence[str] | None = None, num_fewshot: int = 0, limit: int | None = None,
        timeout_s: int | None = None, gpus: int | None = None, memory_mb: int | None = None,
        cpus: float | None = None, priority: int = 0, tags: Mapping[str, str] | None = None,
        callback_url: str | None = None, idempotency_key: str | None = None,
        datasets: Sequence[str] | None = None,
    ) -> sdk_models.Accepted:
        """Submit a script (source text, or a path to read) or, with `tasks`, an lm-eval job.

        `datasets` names dataset versions (`name@version`) the script receives as `data`.

        An idempotency key is generated when none is given, so the SDK's own retries (and
        yours, if you pass the same key) never create a second evaluation.
        """
        body = _core.submit_body(
            script, model=model, tasks=tasks, num_fewshot=num_fewshot, limit=limit,
            timeout_s=timeout_s, gpus=gpus, memory_mb=memory_mb, cpus=cpus, priority=priority,
            tags=tags, callback_url=callback_url, idempotency_key=idempotency_key,
            datasets=datasets)
        return self._send(_core.submit(body))

    def validate(self, script: str | os.PathLike[str] | None = None, *, model: str,
                 tasks: Sequence[str] | None = None, num_fewshot: int = 0,
                 limit: int | None = None, deep: bool = False, gpus: int | None = None,
                 timeout_s: int | None = None, memory_mb: int | None = None,
                 datasets: Sequence[str] | None = None,
                 ) -> sdk_models.ValidationReport:
        """Dry-run the submit checks (`deep`: also the full static analysis); stores nothing.

        Give a script, or lm-eval `tasks` (their names and few-shot/limit are checked).
        `datasets` as in `submit`: a script taking `data` is invalid without them.
        """
        body = _core.submit_body(
            script, model=model, tasks=tasks, num_fewshot=num_fewshot, limit=limit,
            timeout_s=timeout_s, gpus=gpus, memory_mb=memory_mb, cpus=None, priority=0,
            tags=None, callback_url=None, idempotency_key=None, datasets=datasets)
        return self._send(_core.validate(body, deep))

    def get(self, evaluation_id: str) -> sdk_models.Evaluation:
        """The full record; `JobNotFound` for an unknown id or another tenant's."""
        return self._send(_core.get(evaluation_id))

    def status(self, evaluation_id: str) -> sdk_models.StatusInfo:
        return self._send(_core.status(evaluation_id))

    def cancel(self, evaluation_id: str) -> sdk_models.CancelResult:
        """Cancel (idempotent); `JobAlreadyCompleted` if it already ended otherwise."""
        return self._send(_core.cancel(evaluation_id))

    def wait(self, evaluation_id: str, *, timeout_s: float | None = None,
             poll_interval_s: float = _core.WAIT_FIRST_S,
             max_poll_interval_s: float = _core.WAIT_MAX_S) -> sdk_models.Evaluation:
        """Poll until the evaluation is terminal; return its full record.

        /status is asked after `poll_interval_s`, then each pause 1.5 times the one
        before, up to `max_poll_interval_s`: a wait of an hour costs under 500 requests.
        A RATE_LIMITED answer is waited out (its Retry-After) for as long as `timeout_s`
        allows. Raises `WaitTimeout` after `timeout_s` seconds (the evaluation keeps
        running), or `RateLimited` when the record of an evaluation that has ended
        cannot be read before then.
        """
        pacing = _core.WaitPacing(timeout_s, poll_interval_s, max_poll_interval_s)
        current = "unknown"
        refused: RateLimited | None = None
        while True:
            retry_after: float | None = None
            try:
                if current not in sdk_models.TERMINAL_STATUSES:
                    current = (self._send(_core.status(evaluation_id),
                                              wait_rate_limits=False)).status
                if current in sdk_models.TERMINAL_STATUSES:
                    return self._send(_core.get(evaluation_id), wait_rate_limits=False)
            except RateLimited as limited:
                retry_after = (limited.retry_after_s if limited.retry_after_s is not None
                               else pacing.pause_s)
                refused = limited
            sleep = pacing.next_sleep(retry_after)
            if sleep is None:
                if current in sdk_models.TERMINAL_STATUSES and refused is not None:
                    raise refused
                raise WaitTimeout(evaluation_id, current, pacing.waited_s)
            time.sleep(sleep)

    def list(self, *, status: str | None = None, model_id: str | None = None,
             tag: str | None = None, created_after: datetime | None = None,
             created_before: datetime | None = None, page_size: int = 100
             ) -> Iterator[sdk_models.EvaluationSummary]:
        """Your evaluations, newest first, fetching pages as you iterate.

        `tag` is `key` or `key:value`.
        """
        filters = _core.list_filters(status, model_id, tag, created_after, created_before)
        cursor: str | None = None
        while True:
            page = self._send(_core.list_page(filters, cursor, page_size))
            yield from page.items
            if not page.next_cursor or not page.items:
                return
            cursor = page.next_cursor

    def stream_logs(self, evaluation_id: str, *, follow: bool = True,
                    last_event_id: str | None = None, idle_timeout_s: float = 2.0,
                    max_reconnects: int = 5, on_retry: RetryNotice | None = None,
                    ) -> Iterator[sdk_models.LogEvent]:
        """The log as `LogEvent`s (see docs/api.md for types), ending after the `end` event.

        A dropped stream is resumed with `Last-Event-ID`, so no line is lost or repeated;
        so is one refused with 429 RATE_LIMITED or 503 UNAVAILABLE, after its Retry-After
        (at least the backoff: 0.5, 1, 2, 4 s). `max_reconnects` failures in a row raise
        `ServerUnreachable`, or the refusal itself (`RateLimited`), as does a Retry-After
        over 60 s. `on_retry(delay_s, error)` is told of each wait before it starts. With
        `follow=False` the iterator also stops once no event came for `idle_timeout_s`
        (everything so far). The `end` event's status is what the stream saw: read `get()`
        for the outcome.
        """
        last = last_event_id
        failures = 0
        timeout = None if follow else httpx.Timeout(30.0, read=idle_timeout_s)
        retry_ms: int | None = None  # the server's `retry:` field, if it sent one
        while True:
            headers = {"Last-Event-ID": last} if last else {}
            error: Exception
            try:
                with connect_sse(self._http, "GET", _core.logs_path(evaluation_id),
                                 headers=headers, timeout=timeout) as source:
                    if source.response.status_code >= 400:
                        source.response.read()
                        raise ApiError.from_response(source.response)
                    for sse in source.iter_sse():
                        failures, retry_ms = 0, sse.retry or retry_ms
                        last = sse.id or last
                        yield sdk_models.LogEvent(event=sse.event, data=sse.data, id=sse.id or None)
                        if sse.event == "end":
                            return
                # Closed before its end event (a proxy's idle cut, a restart): resume.
                error = ServerUnreachable(
                    self.base_url, "the log stream kept closing before its end event")
            except httpx.ReadTimeout as timeout_error:
                if not follow:
                    return
                error = timeout_error
            except (httpx.TransportError, SSEError) as transport_error:
                error = transport_error
            except ApiError as refused:
                error = _core.stream_refusal(refused)
            failures += 1
            delay = _core.stream_wait(self.base_url, error, failures, max_reconnects, retry_ms)
            if on_retry is not None:
                on_retry(delay, error)
            time.sleep(delay)

    # -- registries and the tenant ----------------------------------------------------------

    def models(self, *, stage: str | None = None, family: str | None = None,
               q: str | None = None, page_size: int = 100) -> Iterator[sdk_models.Model]:
        """Registered models by id, fetching pages as you iterate."""
        cursor: str | None = None
        filters: dict[str, Any] = {"stage": stage, "family": family, "q": q}
        while True:
            page = self._send(_core.models_page(filters, cursor, page_size))
            yield from page.items
            if not page.next_cursor or not page.items:
                return
            cursor = page.next_cursor

    def model(self, model_id: str) -> sdk_models.ModelDetail:
        """One model with lineage and stage history; `NotFound`/`ModelNotFound` if unknown."""
        return self._send(_core.model(model_id))

    def lm_eval_tasks(self) -> builtins.list[sdk_models.TaskInfo]:
        return list(self._send(_core.lm_eval_tasks()).tasks)

    def tenant(self) -> sdk_models.TenantInfo:
        """Your tenant: id, name, effective limits and usage against its quotas."""
        return self._send(_core.tenant())

    def keys(self, *, all_tenants: bool = False) -> builtins.list[sdk_models.ApiKeyInfo]:
        """Your tenant's API keys (never their secrets); an admin may ask for every tenant's."""
        return list(self._send(_core.keys(all_tenants)).items)

    def rotate_callback_secret(self, tenant_id: str | None = None, *,
                               grace_s: int = 86_400) -> sdk_models.CallbackSecret:
        """New callback signing secret (admin), shown once; the old one signs too for `grace_s`."""
        target = tenant_id or self.tenant().tenant_id
        return self._send(_core.rotate_callback_secret(target, grace_s))
