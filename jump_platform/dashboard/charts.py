"""What the dashboard's charts share: colours, the month axis, frames Vega-Lite can draw."""

from __future__ import annotations

import altair as alt
import pandas as pd
import polars as pl
import polars.selectors as cs

ENTITY_COLORS = alt.Scale(domain=["blue", "green"], range=["#2563eb", "#16a34a"])
PART_COLORS = alt.Scale(domain=["by the as-of date", "issued in advance"], range=["#2563eb", "#93c5fd"])
NPS_COLORS = alt.Scale(domain=["Promoters", "Passives", "Detractors"], range=["#16a34a", "#a3a3a3", "#dc2626"])


def month_axis(title: str = "Month") -> alt.X:
    # yearmonth: one band per month, so bars are as wide as their month
    return alt.X("yearmonth(month):T", title=title, axis=alt.Axis(format="%Y-%m"))


def chartable(frame: pl.DataFrame) -> pd.DataFrame:
    """`frame` for Vega-Lite: decimals as floats (Arrow decimals would reach the chart unscaled)."""
    return frame.with_columns(cs.decimal().cast(pl.Float64)).to_pandas()
