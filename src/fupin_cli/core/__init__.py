"""Decisions from evaluations: identify, quota, summaries, causes, exit, reassess, monitor (no I/O)."""
