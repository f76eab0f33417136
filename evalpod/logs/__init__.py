"""Evaluation logs: the live Redis stream (`stream`) and its durable archive (`archive`)."""
