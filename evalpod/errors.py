"""The one error hierarchy: every failure a client can see is an `EvalpodError`.

`api.errors` maps these once to the CONTRACT's envelope; nothing else builds
error bodies.
"""

from __future__ import annotations

from typing import Any, ClassVar


class EvalpodError(Exception):
    code: ClassVar[str] = "INTERNAL_SERVER_ERROR"
    status_code: ClassVar[int] = 500
    default_hint: ClassVar[str] = "Retry later; if it persists, report the request id."

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        detail: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint or self.default_hint
        self.detail = detail or {}
        self.headers = headers or {}


class InvalidScript(EvalpodError):
    code = "INVALID_SCRIPT"
    status_code = 400
    default_hint = "Fix the syntax error at the reported line and column, then resubmit."


class ForbiddenPattern(EvalpodError):
    code = "FORBIDDEN_PATTERN"
    status_code = 400
    default_hint = "Remove the reported construct; see docs/validation.md for what is allowed."


class ModelNotFound(EvalpodError):
    code = "MODEL_NOT_FOUND"
    status_code = 400
    default_hint = "List the registered models with GET /api/v1/models."


class InvalidConfig(EvalpodError):
    code = "INVALID_CONFIG"
    status_code = 422
    default_hint = "Correct the fields listed in detail."


class Unauthorized(EvalpodError):
    code = "UNAUTHORIZED"
    status_code = 401
    default_hint = "Send 'Authorization: Bearer <api key>'; create one with `evalpod keys create`."


class Forbidden(EvalpodError):
    code = "FORBIDDEN"
    status_code = 403
    default_hint = "This needs a key with the admin role."


class JobNotFound(EvalpodError):
    code = "JOB_NOT_FOUND"
    status_code = 404
    default_hint = "Check the evaluation id; list yours with GET /api/v1/evaluations."


class NotFound(EvalpodError):
    code = "NOT_FOUND"
    status_code = 404
    default_hint = "Check the path against /api/docs."


class MethodNotAllowed(EvalpodError):
    code = "METHOD_NOT_ALLOWED"
    status_code = 405
    default_hint = "Check the method against /api/docs."


class IdempotencyConflict(EvalpodError):
    code = "IDEMPOTENCY_CONFLICT"
    status_code = 409
    default_hint = "Use a new idempotency_key for a different request body."


class JobAlreadyCompleted(EvalpodError):
    code = "JOB_ALREADY_COMPLETED"
    status_code = 409
    default_hint = "The evaluation already finished; nothing to cancel."


class PayloadTooLarge(EvalpodError):
    code = "PAYLOAD_TOO_LARGE"
    status_code = 413
    default_hint = "Shrink the script below the size cap in detail."


class RateLimited(EvalpodError):
    code = "RATE_LIMITED"
    status_code = 429
    default_hint = "Wait for Retry-After seconds before the next request."


class QuotaExceeded(EvalpodError):
    code = "QUOTA_EXCEEDED"
    status_code = 429
    default_hint = "Wait for running evaluations to finish or ask an admin for more quota."


class Unavailable(EvalpodError):
    code = "UNAVAILABLE"
    status_code = 503
    default_hint = "A dependency is down; retry shortly."


class IllegalTransition(EvalpodError):
    """A status change the lifecycle rules do not allow (never a silent overwrite)."""

    code = "JOB_ALREADY_COMPLETED"
    status_code = 409

    def __init__(self, evaluation_id: str, current: str, target: str) -> None:
        super().__init__(
            f"evaluation {evaluation_id} is {current}; it cannot become {target}",
            detail={"evaluation_id": evaluation_id, "status": current, "target": target},
        )
        self.evaluation_id = evaluation_id
        self.current = current
        self.target = target
