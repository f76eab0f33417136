"""What the sync and async clients share: configuration, request building, retry rules.

Each endpoint is one `Call` built here; `Client` and `AsyncClient` only send it. Adding an
endpoint (datasets, benchmarks) is one builder here and a one-line method in each client.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel

from evalpod.sdk import models
from evalpod.sdk.errors import ApiError, MissingApiKey, SdkError, ServerUnreachable

DEFAULT_URL = "http://127.0.0.1:8000"
API_PREFIX = "/api/v1"
# Waits longer than this are not worth retrying for: the error goes to the caller.
MAX_RETRY_AFTER_S = 10.0
# A log stream (a follow may last hours) waits out a longer Retry-After before it gives up.
MAX_STREAM_RETRY_AFTER_S = 60.0
# `wait` asks /status after WAIT_FIRST_S, then each pause WAIT_GROWTH times the one before,
# up to WAIT_MAX_S: a long wait costs a key about 8 of its requests a minute (100 by
# default), so several waits and a cancel still fit in it.
WAIT_FIRST_S = 0.5
WAIT_GROWTH = 1.5
WAIT_MAX_S = 8.0
RETRY_STATUS = {503}
RETRY_CODES = {"RATE_LIMITED", "UNAVAILABLE"}

T = TypeVar("T", bound=BaseModel)
# `stream_logs(on_retry=...)`: told (seconds to wait, the error) before each reconnect wait.
RetryNotice = Callable[[float, Exception], None]


def resolve_url(base_url: str | None) -> str:
    """`base_url`, else `EVALPOD_URL`, else http://127.0.0.1:8000 (no trailing slash)."""
    return (base_url or os.environ.get("EVALPOD_URL") or DEFAULT_URL).rstrip("/")


def admin_key_path() -> Path:
    """Where `evalpod up` writes the admin key: `$EVALPOD_HOME/admin.key` (home `./.evalpod`)."""
    home = Path(os.environ.get("EVALPOD_HOME") or ".evalpod").expanduser().resolve()
    return home / "admin.key"


def resolve_key(api_key: str | None) -> str:
    """`api_key`, else `EVALPOD_API_KEY`, else the local admin key file; raises MissingApiKey."""
    key = api_key or os.environ.get("EVALPOD_API_KEY")
    if key and key.strip():
        return key.strip()
    path = admin_key_path()
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise MissingApiKey(
            f"no API key: EVALPOD_API_KEY is not set and {path} cannot be read "
            f"({exc.strerror or exc})") from exc


def new_idempotency_key() -> str:
    return f"sdk-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request and the model its 2xx body is read into.

    `replayable`: sending it twice does no harm, so it may be retried after a connection
    dropped mid-request (every GET, a keyed submit, cancel).
    """

    method: str
    path: str
    out: type[T]
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    replayable: bool = True

    def request_kwargs(self) -> dict[str, Any]:
        params = {k: _param(v) for k, v in self.params.items() if v is not None}
        kwargs: dict[str, Any] = {"params": params}
        if self.json is not None:
            kwargs["json"] = self.json
        return kwargs

    def parse(self, response: httpx.Response) -> T:
        if response.status_code >= 400:
            raise ApiError.from_response(response)
        return self.out.model_validate_json(response.content or b"{}")


def _param(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def retry_delay(error: Exception, attempt: int, replayable: bool) -> float | None:
    """Seconds to wait before retry number `attempt` (1-based), or None to give up now."""
    backoff = min(4.0, 0.25 * float(2 ** (attempt - 1)))
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
        return backoff  # nothing was sent
    if isinstance(error, httpx.TransportError):
        return backoff if replayable else None
    # A rate-limited request was refused before anything ran; a 503 only when replayable.
    if isinstance(error, ApiError) and error.code in RETRY_CODES and (
            replayable or error.code == "RATE_LIMITED"):
        wait: float = error.retry_after_s if error.retry_after_s is not None else backoff
        return float(wait) if wait <= MAX_RETRY_AFTER_S else None
    return None


class WaitPacing:
    """When `wait` asks next: a growing pause between polls (`WAIT_GROWTH`, up to
    `max_pause_s`), or a RATE_LIMITED answer's Retry-After, never past `timeout_s`."""

    def __init__(self, timeout_s: float | None, first_s: float, max_pause_s: float) -> None:
        self.timeout_s = timeout_s
        self.pause_s = max(0.0, first_s)
        self.max_pause_s = max(self.pause_s, max_pause_s)
        self.started = time.monotonic()

    @property
    def waited_s(self) -> float:
        return time.monotonic() - self.started

    def next_sleep(self, retry_after_s: float | None = None) -> float | None:
        """Seconds to sleep before the next request (`retry_after_s` after a refusal, else
        the pause, which then grows); None once the timeout has passed."""
        waited = self.waited_s
        if self.timeout_s is not None and waited >= self.timeout_s:
            return None
        sleep = self.pause_s if retry_after_s is None else retry_after_s
        self.pause_s = min(self.pause_s * WAIT_GROWTH, self.max_pause_s)
        if self.timeout_s is not None:
            sleep = min(sleep, self.timeout_s - waited)
        return sleep


def stream_refusal(error: ApiError) -> ApiError:
    """An error answer to opening a log stream, returned when a reconnect may outlive it
    (429 RATE_LIMITED: nothing ran; 503 UNAVAILABLE), else raised: it is final."""
    if error.code not in RETRY_CODES:
        raise error
    return error


def stream_wait(url: str, error: Exception, failures: int, max_reconnects: int,
                retry_ms: int | None) -> float:
    """Seconds to wait before reopening a log stream after its `failures`th failure in a
    row; raises `stream_failure(url, error)` instead when the stream should give up."""
    delay = stream_retry_delay(error, failures, retry_ms)
    if failures <= max_reconnects and delay <= MAX_STREAM_RETRY_AFTER_S:
        return delay
    final = stream_failure(url, error)
    if final is error:
        raise final
    raise final from error


def stream_retry_delay(error: Exception, failures: int, retry_ms: int | None) -> float:
    """Seconds before reopening a log stream after `error`, its `failures`th in a row:
    an error answer's Retry-After, but never less than the backoff (0.5, 1, 2, 4 s); a
    dropped stream waits the server's `retry:` field, else the backoff."""
    backoff = min(4.0, 0.25 * float(2 ** failures))
    if isinstance(error, ApiError):
        return max(error.retry_after_s or 0.0, backoff)
    return retry_ms / 1000 if retry_ms else backoff


def stream_failure(url: str, error: Exception) -> SdkError:
    """What a log stream raises once it gives up after `error`: an error answer as itself
    (`RateLimited` keeps its `retry_after_s`), anything else as `ServerUnreachable`."""
    if isinstance(error, ApiError | ServerUnreachable):
        return error
    if isinstance(error, httpx.TransportError):
        return unreachable(url, error)
    return ServerUnreachable(url, str(error))


def unreachable(url: str, error: httpx.TransportError) -> ServerUnreachable:
    reason = {
        httpx.ConnectError: "connection failed",
        httpx.ConnectTimeout: "connection timed out",
        httpx.ReadTimeout: "no answer in time",
        httpx.RemoteProtocolError: "the connection broke",
    }.get(type(error), type(error).__name__)
    detail = str(error).strip()
    if "refused" in detail.lower():
        reason = "connection refused"
    elif detail and reason == "connection failed":
        reason = f"connection failed ({detail[:120]})"
    return ServerUnreachable(url, reason)


# -- the endpoints ----------------------------------------------------------------------------

def submit_body(
    script: str | os.PathLike[str] | None, *, model: str, tasks: Sequence[str] | None,
    num_fewshot: int, limit: int | None, timeout_s: int | None, gpus: int | None,
    memory_mb: int | None, cpus: float | None, priority: int, tags: Mapping[str, str] | None,
    callback_url: str | None, idempotency_key: str | None,
    datasets: Sequence[str] | None = None,
) -> models.EvaluationCreate:
    """The submit body; a `PathLike` script is read as UTF-8; `tasks` makes it an lm_eval job."""
    if isinstance(script, os.PathLike):
        script = Path(script).read_text(encoding="utf-8")
    config = {k: v for k, v in {"timeout_s": timeout_s, "gpus": gpus, "memory_mb": memory_mb,
                                "cpus": cpus}.items() if v is not None}
    return models.EvaluationCreate(
        kind="lm_eval" if tasks else "script", model_id=model, script=script,
        tasks=list(tasks) if tasks else None, num_fewshot=num_fewshot, limit=limit,
        config=models.RunConfig.model_validate(config), priority=priority, tags=dict(tags or {}),
        callback_url=callback_url, datasets=list(datasets) if datasets else None,
        idempotency_key=idempotency_key or new_idempotency_key())


def submit(body: models.EvaluationCreate) -> Call[models.Accepted]:
    # Always keyed, so a retry after a dropped connection finds the first submission.
    return Call("POST", "/evaluations", models.Accepted,
                json=body.model_dump(mode="json", exclude_none=True),
                replayable=body.idempotency_key is not None)


def validate(body: models.EvaluationCreate, deep: bool) -> Call[models.ValidationReport]:
    payload = body.model_dump(mode="json", exclude_none=True, exclude={"idempotency_key"})
    return Call("POST", "/evaluations/validate", models.ValidationReport,
                params={"deep": deep}, json=payload)


def get(evaluation_id: str) -> Call[models.Evaluation]:
    return Call("GET", f"/evaluations/{_seg(evaluation_id)}", models.Evaluation)


def status(evaluation_id: str) -> Call[models.StatusInfo]:
    return Call("GET", f"/evaluations/{_seg(evaluation_id)}/status", models.StatusInfo)


def cancel(evaluation_id: str) -> Call[models.CancelResult]:
    return Call("POST", f"/evaluations/{_seg(evaluation_id)}/cancel", models.CancelResult)


def list_page(filters: Mapping[str, Any], cursor: str | None, page_size: int
              ) -> Call[models.EvaluationPage]:
    return Call("GET", "/evaluations", models.EvaluationPage,
                params={**filters, "limit": page_size, "cursor": cursor})


def list_filters(status: str | None, model_id: str | None, tag: str | None,
                 created_after: datetime | None, created_before: datetime | None
                 ) -> dict[str, Any]:
    return {"status": status, "model_id": model_id, "tag": tag,
            "created_after": created_after, "created_before": created_before}


def logs_path(evaluation_id: str) -> str:
    return f"{API_PREFIX}/evaluations/{_seg(evaluation_id)}/logs"


def models_page(filters: Mapping[str, Any], cursor: str | None, page_size: int
                ) -> Call[models.ModelPage]:
    return Call("GET", "/models", models.ModelPage,
                params={**filters, "limit": page_size, "cursor": cursor})


def model(model_id: str) -> Call[models.ModelDetail]:
    return Call("GET", f"/models/{_seg(model_id)}", models.ModelDetail)


def lm_eval_tasks() -> Call[models.TaskList]:
    return Call("GET", "/lm-eval/tasks", models.TaskList)


def tenant() -> Call[models.TenantInfo]:
    return Call("GET", "/tenant", models.TenantInfo)


def keys(all_tenants: bool) -> Call[models.ApiKeyList]:
    return Call("GET", "/keys", models.ApiKeyList, params={"all_tenants": all_tenants or None})


def rotate_callback_secret(tenant_id: str, grace_s: int) -> Call[models.CallbackSecret]:
    return Call("POST", f"/admin/tenants/{_seg(tenant_id)}/callback-secret", models.CallbackSecret,
                json={"grace_s": grace_s}, replayable=False)


def _seg(value: str) -> str:
    """A path segment: ids never contain '/', so one that does is refused, not re-routed."""
    if not value or "/" in value or value in {".", ".."}:
        raise ValueError(f"not an id: {value!r}")
    return value
