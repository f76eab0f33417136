"""/metrics is valid Prometheus text (promtool), stage durations are a real histogram."""

from __future__ import annotations

import shutil
import subprocess

import httpx
import pytest
from fastapi import FastAPI

from evalpod import stage_metrics


async def test_stage_durations_are_a_cumulative_histogram(
    api_app: FastAPI, anonymous: httpx.AsyncClient
) -> None:
    redis = api_app.state.redis
    await redis.delete(*(stage_metrics.KEY_PREFIX + stage for stage in stage_metrics.STAGES))
    for seconds in (0.2, 3.0, 3.0, 100_000.0):
        await stage_metrics.observe(redis, "run", seconds)
    text = (await anonymous.get("/metrics")).text
    assert 'evalpod_stage_duration_seconds_bucket{le="0.5",stage="run"} 1.0' in text
    assert 'evalpod_stage_duration_seconds_bucket{le="5.0",stage="run"} 3.0' in text
    assert 'evalpod_stage_duration_seconds_bucket{le="+Inf",stage="run"} 4.0' in text
    assert 'evalpod_stage_duration_seconds_count{stage="run"} 4.0' in text
    assert 'evalpod_stage_duration_seconds_sum{stage="run"} 100006.2' in text
    assert 'evalpod_stage_duration_seconds_count{stage="validation"} 0.0' in text
    assert "quantile" not in text


async def test_promtool_finds_nothing_to_complain_about(anonymous: httpx.AsyncClient) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package `prometheus`)")
    text = (await anonymous.get("/metrics")).text
    checked = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                             capture_output=True, timeout=60)
    assert checked.returncode == 0 and not checked.stdout.strip(), (
        checked.stdout.decode() + checked.stderr.decode())
