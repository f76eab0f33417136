"""Tenant limits take JSON numbers only: booleans and strings are refused, not coerced."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.admin import TenantLimits


@pytest.mark.parametrize("body", [
    {"requests_per_minute": False}, {"max_live_evaluations": "5"}, {"fair_share": True},
    {"gpu_seconds_per_day": 1.5}, {"fair_share": 0}, {"fair_share": "2"},
])
def test_coercions_are_refused(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        TenantLimits.model_validate(body)


def test_numbers_are_taken() -> None:
    limits = TenantLimits.model_validate({"requests_per_minute": 60, "fair_share": 2,
                                          "gpu_seconds_per_day": 3600.0})
    assert (limits.requests_per_minute, limits.fair_share, limits.gpu_seconds_per_day) == (
        60, 2.0, 3600)
