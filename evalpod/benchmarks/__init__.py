"""Benchmarks: immutable, versioned evaluation definitions run by the platform, scored by
a trusted scorer, ranked on a leaderboard, and the only results promotion gates accept."""
