"""evalpod: run untrusted evaluation scripts against ML models in sandboxes."""

__version__ = "0.1.0"
