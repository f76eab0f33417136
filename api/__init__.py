"""The HTTP API (FastAPI): auth, limits, quick checks, evaluations, SSE logs, health, metrics."""
