"""The evalpod Python SDK: `Client` (sync) and `AsyncClient` (asyncio) over httpx.

    from evalpod import Client
    with Client() as client:
        accepted = client.submit(Path("eval.py"), model="tiny-gpt2")
        record = client.wait(accepted.evaluation_id)

See docs/sdk.md.
"""

from evalpod.logs.progress import Progress
from evalpod.sdk import errors, models
from evalpod.sdk.async_client import AsyncClient
from evalpod.sdk.client import Client
from evalpod.sdk.errors import (
    ApiError,
    MissingApiKey,
    SdkError,
    ServerUnreachable,
    WaitTimeout,
)
from evalpod.sdk.models import LogEvent

__all__ = ["ApiError", "AsyncClient", "Client", "LogEvent", "MissingApiKey", "Progress",
           "SdkError", "ServerUnreachable", "WaitTimeout", "errors", "models"]
