"""The benchmark flow runs on the datasets suite's stack (same fixtures)."""

from tests.datasets.conftest import datasets_dsn, datastack  # noqa: F401
