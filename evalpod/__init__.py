"""evalpod: run untrusted evaluation scripts against ML models in sandboxes."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evalpod.sdk import AsyncClient, Client

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # The SDK (httpx, pydantic) loads on first use: server commands that never talk to the
    # API start without it.
    if name in ("Client", "AsyncClient"):
        from evalpod import sdk

        return getattr(sdk, name)
    raise AttributeError(f"module 'evalpod' has no attribute {name!r}")


__all__ = ["AsyncClient", "Client", "__version__"]
