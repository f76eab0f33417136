"""The libcst policy engine: rule registry, per-concern checkers, tenant policy."""
