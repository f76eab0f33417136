"""Errors of the model registry, promotion gates and activity feed (one `EvalpodError` each)."""

from __future__ import annotations

from evalpod.errors import EvalpodError


class ModelNotFoundHttp(EvalpodError):
    """An unknown model id in a registry path: 404, unlike the 400 of a submit body."""

    code = "MODEL_NOT_FOUND"
    status_code = 404
    default_hint = "List the registered models with GET /api/v1/models."


class PromotionBlocked(EvalpodError):
    """The model's evaluation policy is not met; `detail.failures` lists each shortfall."""

    code = "PROMOTION_BLOCKED"
    status_code = 409
    default_hint = (
        "Run the benchmark versions (POST /benchmarks/{id}/runs) or lm-eval tasks named in "
        "detail.failures until their latest succeeded run meets every minimum; a "
        "submitter's own script never counts."
    )


class InvalidStageChange(EvalpodError):
    """The model already has the target stage (a promotion that would change nothing)."""

    code = "INVALID_STAGE_CHANGE"
    status_code = 409
    default_hint = "Check the model's current stage with GET /api/v1/models/{id}."


class NothingToRollBack(EvalpodError):
    """The lineage has no earlier production model to return to."""

    code = "ROLLBACK_UNAVAILABLE"
    status_code = 409
    default_hint = "Rollback needs a model that was in production before the current one."
