"""File helpers shared by every writer of the platform."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import polars as pl


def write_csv_atomically(frame: pl.DataFrame | Iterable[pl.DataFrame], path: Path) -> int:
    """Write one frame, or chunks of one table, as a CSV with a header; readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    chunks = [frame] if isinstance(frame, pl.DataFrame) else frame
    rows = 0
    with temporary.open("wb") as handle:
        for index, chunk in enumerate(chunks):
            chunk.write_csv(handle, include_header=index == 0, date_format="%Y-%m-%d")
            rows += chunk.height
    os.replace(temporary, path)
    return rows


