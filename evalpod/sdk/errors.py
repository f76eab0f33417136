"""The SDK's exceptions: one class per envelope code, and a separate one for an unreachable server.

Every error the API answers with carries the envelope's `code`, `message`, `hint` and
`detail`; `ApiError.from_response` picks the class by `code`, so callers catch
`JobNotFound` or `QuotaExceeded` rather than parse strings.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from evalpod.sdk.hints import for_sdk


class SdkError(Exception):
    """Base of everything the SDK raises."""


class ServerUnreachable(SdkError):
    """No HTTP answer at all: refused, DNS failure, TLS failure, timed out, dropped.

    `url` is the base URL tried; `reason` says what failed.
    """

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach the evalpod API at {url}: {reason}")
        self.url = url
        self.reason = reason


class MissingApiKey(SdkError):
    """No key given, no `EVALPOD_API_KEY`, and no admin key file in `EVALPOD_HOME`."""


class WaitTimeout(SdkError, TimeoutError):
    """`wait` gave up before the evaluation reached a terminal status; it keeps running."""

    def __init__(self, evaluation_id: str, status: str, waited_s: float) -> None:
        super().__init__(f"evaluation {evaluation_id} is still {status} after {waited_s:g} s")
        self.evaluation_id = evaluation_id
        self.status = status


class ApiError(SdkError):
    """An error envelope from the API (any 4xx/5xx).

    Attributes: `status_code` (HTTP), `code` (envelope code), `message`, `hint` (what to
    do, naming SDK calls: `Client.models()`, not the route), `api_hint` (the envelope's
    hint as the server sent it, naming HTTP routes), `detail` (a dict; `detail["errors"]`
    lists field errors as `{field, message}`), `retry_after_s` (from the `Retry-After`
    header, or None).
    """

    code: ClassVar[str] = "UNKNOWN"

    def __init__(self, status_code: int, message: str, *, hint: str = "",
                 detail: dict[str, Any] | None = None, code: str | None = None,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.api_hint = hint
        self.hint = for_sdk(hint)
        self.detail = detail or {}
        if code is not None:
            self.code = code  # type: ignore[misc]  # an unknown code keeps its own name
        self.retry_after_s = retry_after_s

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        """The typed error for an error response (a non-envelope body still gives one)."""
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        retry_after = _retry_after(response.headers.get("Retry-After"))
        if not isinstance(error, dict):
            text = response.text.strip()[:200] or response.reason_phrase
            return ApiError(response.status_code, f"HTTP {response.status_code}: {text}",
                            code=f"HTTP_{response.status_code}", retry_after_s=retry_after)
        code = str(error.get("code") or f"HTTP_{response.status_code}")
        kind = ERRORS.get(code)
        detail = error.get("detail") if isinstance(error.get("detail"), dict) else {}
        return (kind or ApiError)(
            response.status_code, str(error.get("message") or code),
            hint=str(error.get("hint") or ""), detail=detail,
            code=None if kind else code, retry_after_s=retry_after)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


class InvalidScript(ApiError):
    """400: the script does not parse (detail: line, column, message)."""

    code = "INVALID_SCRIPT"


class ForbiddenPattern(ApiError):
    """400: the quick screen found a forbidden construct (detail: findings)."""

    code = "FORBIDDEN_PATTERN"


class ModelNotFound(ApiError):
    code = "MODEL_NOT_FOUND"


class InvalidConfig(ApiError):
    """400/422: a field is wrong or exceeds the server's limits (detail: errors)."""

    code = "INVALID_CONFIG"


class Unauthorized(ApiError):
    code = "UNAUTHORIZED"


class Forbidden(ApiError):
    code = "FORBIDDEN"


class JobNotFound(ApiError):
    code = "JOB_NOT_FOUND"


class NotFound(ApiError):
    code = "NOT_FOUND"


class MethodNotAllowed(ApiError):
    code = "METHOD_NOT_ALLOWED"


class DatasetNotFound(ApiError):
    code = "DATASET_NOT_FOUND"


class BenchmarkNotFound(ApiError):
    code = "BENCHMARK_NOT_FOUND"


class StorageFull(ApiError):
    code = "STORAGE_FULL"


class DatasetExists(ApiError):
    code = "DATASET_EXISTS"


class DatasetVersionExists(ApiError):
    code = "DATASET_VERSION_EXISTS"


class DatasetInUse(ApiError):
    code = "DATASET_IN_USE"


class InvalidStageChange(ApiError):
    code = "INVALID_STAGE_CHANGE"


class PromotionBlocked(ApiError):
    """409: the model's evaluation policy is not met (detail: what is missing)."""

    code = "PROMOTION_BLOCKED"


class RollbackUnavailable(ApiError):
    code = "ROLLBACK_UNAVAILABLE"


class IdempotencyConflict(ApiError):
    code = "IDEMPOTENCY_CONFLICT"


class JobAlreadyCompleted(ApiError):
    code = "JOB_ALREADY_COMPLETED"


class PayloadTooLarge(ApiError):
    code = "PAYLOAD_TOO_LARGE"


class RateLimited(ApiError):
    code = "RATE_LIMITED"


class QuotaExceeded(ApiError):
    code = "QUOTA_EXCEEDED"


class InternalServerError(ApiError):
    code = "INTERNAL_SERVER_ERROR"


class Unavailable(ApiError):
    code = "UNAVAILABLE"


ERRORS: dict[str, type[ApiError]] = {
    kind.code: kind for kind in (
        InvalidScript, ForbiddenPattern, ModelNotFound, InvalidConfig, Unauthorized, Forbidden,
        JobNotFound, NotFound, MethodNotAllowed, DatasetNotFound, BenchmarkNotFound,
        DatasetExists, DatasetVersionExists, DatasetInUse, InvalidStageChange, PromotionBlocked,
        RollbackUnavailable, StorageFull, IdempotencyConflict, JobAlreadyCompleted,
        PayloadTooLarge, RateLimited, QuotaExceeded, InternalServerError, Unavailable,
    )
}
