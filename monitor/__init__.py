"""Follows running sandboxes: log streaming, limit enforcement, kills, result collection."""
