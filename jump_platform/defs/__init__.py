"""Dagster wiring, one folder per domain; `jump_platform.definitions` assembles them."""
