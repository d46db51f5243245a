"""The dashboard's Turnover page: monthly turnover, and turnover by entity month over month."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

import altair as alt
import polars as pl
import streamlit as st

from jump_platform.dashboard.charts import ENTITY_COLORS, PART_COLORS, chartable, month_axis
from jump_platform.dashboard.ui import euros, figures, filters, month_label, percent, query


@dataclass(frozen=True)
class Headline:
    """The headline month's metric: its label, amount, change on the month before (None: not
    compared) and a note on how to read it."""

    label: str
    amount: object
    delta: object
    note: str


def headline(monthly: pl.DataFrame, as_of: dt.date) -> Headline:
    """The latest month that has come (on or before the as-of month) among `monthly`'s months.

    The as-of month is in progress unless the as-of date is its last day: its label says so and
    it is not compared with the whole month before (7 days of December against all of November
    would read as a fall). A whole month is compared with the month before it.
    """
    as_of_month = as_of.replace(day=1)
    come = monthly.filter(pl.col("month") <= as_of_month)
    shown = come if not come.is_empty() else monthly
    last = shown.row(-1, named=True)
    previous = shown["amount"][-2] if shown.height > 1 else None
    in_progress = last["month"] == as_of_month and as_of.day < calendar.monthrange(as_of.year, as_of.month)[1]
    if in_progress:
        return Headline(
            label=f"Turnover in {month_label(last['month'])} so far (€)",
            amount=last["amount"],
            delta=None,
            note=(
                f"Month in progress: 1–{as_of.day} {as_of:%B}, through the as-of date. Not compared with the whole month before."
            ),
        )
    return Headline(
        label=f"Turnover in {month_label(last['month'])} (€)",
        amount=last["amount"],
        delta=None if previous is None else last["amount"] - previous,
        note="",
    )


def show_headline(column: st.delta_generator.DeltaGenerator, month: Headline) -> None:
    """The headline month's metric in `column`, with the note that says a month is in progress."""
    delta = None if month.delta is None else euros(month.delta)
    column.metric(month.label, euros(month.amount), delta=delta, help=month.note or None)
    if month.note:
        column.caption(month.note)


def turnover() -> None:
    chosen = filters()
    st.title("Turnover")
    monthly: pl.DataFrame = query("monthly_turnover", chosen.start, chosen.end)
    by_entity: pl.DataFrame = query("turnover_by_entity", chosen.entities, chosen.start, chosen.end)

    month = headline(monthly, chosen.as_of_date)
    left, middle, right = st.columns(3)
    left.metric("Turnover over the months shown (€)", euros(monthly["amount"].sum()))
    show_headline(middle, month)
    right.metric("Months shown", monthly.height)

    st.subheader("Monthly turnover, all entities")
    st.caption(
        "Every month is shown: a month without invoices is 0. Invoices dated after the as-of date "
        f"(issued in advance, so months after {month_label(chosen.as_of_month)} too) show apart."
    )
    parts = monthly.select(
        "month",
        **{
            "by the as-of date": pl.col("amount") - pl.col("scheduled_amount"),
            "issued in advance": pl.col("scheduled_amount"),
        },
    ).unpivot(index="month", variable_name="part", value_name="amount")
    st.altair_chart(
        alt.Chart(chartable(parts))
        .mark_bar()
        .encode(
            month_axis(),
            alt.Y("amount:Q", title="Turnover (€)", stack="zero"),
            alt.Color("part:N", scale=PART_COLORS, title="Invoices"),
            tooltip=["part", alt.Tooltip("month:T", format="%Y-%m"), alt.Tooltip("amount:Q", format=",.2f")],
        ),
        width="stretch",
    )
    figures(
        monthly.select(
            Month=pl.col("month").dt.strftime("%Y-%m"),
            **{
                "Turnover (€)": pl.col("amount").map_elements(euros, return_dtype=pl.String),
                "Issued in advance (€)": pl.col("scheduled_amount").map_elements(euros, return_dtype=pl.String),
            },
        ),
        "Figures: monthly turnover",
    )

    st.subheader("Turnover by entity, month over month")
    st.caption("Bars stack the entities chosen; the line is each entity's change on the month before.")
    frame = chartable(by_entity)
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            month_axis(),
            alt.Y("turnover:Q", title="Turnover (€)"),
            alt.Color("entity:N", scale=ENTITY_COLORS, title="Entity"),
            tooltip=[
                "entity",
                alt.Tooltip("month:T", format="%Y-%m"),
                alt.Tooltip("turnover:Q", format=",.2f"),
                alt.Tooltip("turnover_change_pct:Q", title="change vs previous month (%)", format="+.2f"),
            ],
        )
        .properties(height=280)
    )
    change = (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            month_axis(),
            alt.Y("turnover_change_pct:Q", title="Change vs previous month (%)"),
            alt.Color("entity:N", scale=ENTITY_COLORS, title="Entity"),
            tooltip=["entity", alt.Tooltip("month:T", format="%Y-%m"), alt.Tooltip("turnover_change_pct:Q", format="+.2f")],
        )
        .properties(height=200)
    )
    st.altair_chart(alt.vconcat(bars, change).resolve_scale(x="shared"), width="stretch")
    st.caption(
        "The change is empty when the previous month had no turnover. Active freelancers are known "
        f"through {month_label(chosen.as_of_month)}, the as-of month: “–” in the months after it, which have not come."
    )
    figures(
        by_entity.select(
            Month=pl.col("month").dt.strftime("%Y-%m"),
            Entity="entity",
            **{
                "Turnover (€)": pl.col("turnover").map_elements(euros, return_dtype=pl.String),
                "Previous month (€)": pl.col("previous_month_turnover").map_elements(euros, return_dtype=pl.String),
                "Change": pl.col("turnover_change_pct").map_elements(percent, return_dtype=pl.String),
                "Invoices": "invoice_count",
                "Active freelancers": pl.col("active_freelancers").cast(pl.String).fill_null("–"),
                "Issued in advance (€)": pl.col("scheduled_turnover").map_elements(euros, return_dtype=pl.String),
            },
        ),
        "Figures: turnover by entity",
    )
