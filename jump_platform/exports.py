"""Turning a query result into a CSV a person opens in a spreadsheet."""

import polars as pl
import polars.selectors as cs


def for_spreadsheet(frame: pl.DataFrame) -> pl.DataFrame:
    """Amounts with exactly 2 decimals: decimals and floats are rounded to cents."""
    return frame.with_columns(
        cs.float().round(2).cast(pl.Decimal(38, 2)),
        cs.decimal().cast(pl.Decimal(38, 2)),
    )
