"""The `kubernetes` backend: one hardened Job per evaluation."""
