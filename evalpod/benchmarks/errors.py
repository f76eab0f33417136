"""Errors of the benchmark registry."""

from __future__ import annotations

from evalpod.errors import EvalpodError


class BenchmarkNotFound(EvalpodError):
    code = "BENCHMARK_NOT_FOUND"
    status_code = 404
    default_hint = "List benchmarks with GET /api/v1/benchmarks; name one as name or " \
                   "name@version."
