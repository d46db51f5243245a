"""The dashboard's pages, one function each; `app.py` puts them in the navigation."""

from __future__ import annotations

import altair as alt
import pandas as pd
import polars as pl
import polars.selectors as cs
import streamlit as st

from jump_platform.dashboard.ui import euros, figures, filters, month_label, percent, query

ENTITY_COLORS = alt.Scale(domain=["blue", "green"], range=["#2563eb", "#16a34a"])
SEARCH_LIMIT = 50
PART_COLORS = alt.Scale(domain=["by the as-of date", "issued in advance"], range=["#2563eb", "#93c5fd"])
NPS_COLORS = alt.Scale(domain=["Promoters", "Passives", "Detractors"], range=["#16a34a", "#a3a3a3", "#dc2626"])


def _month_axis(title: str = "Month") -> alt.X:
    # yearmonth: one band per month, so bars are as wide as their month
    return alt.X("yearmonth(month):T", title=title, axis=alt.Axis(format="%Y-%m"))


def _chartable(frame: pl.DataFrame) -> pd.DataFrame:
    """`frame` for Vega-Lite: decimals as floats (Arrow decimals would reach the chart unscaled)."""
    return frame.with_columns(cs.decimal().cast(pl.Float64)).to_pandas()


def turnover() -> None:
    chosen = filters()
    st.title("Turnover")
    monthly: pl.DataFrame = query("monthly_turnover", chosen.start, chosen.end)
    by_entity: pl.DataFrame = query("turnover_by_entity", chosen.entities, chosen.start, chosen.end)

    # the headline month is the latest that has come (on or before the as-of month) among those shown
    come = monthly.filter(pl.col("month") <= chosen.as_of_month)
    headline = come if not come.is_empty() else monthly
    last_month = headline.row(-1, named=True)
    previous = headline["amount"][-2] if headline.height > 1 else None
    left, middle, right = st.columns(3)
    left.metric("Turnover over the months shown (€)", euros(monthly["amount"].sum()))
    middle.metric(
        f"Turnover in {month_label(last_month['month'])} (€)",
        euros(last_month["amount"]),
        delta=None if previous is None else euros(last_month["amount"] - previous),
    )
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
        alt.Chart(_chartable(parts))
        .mark_bar()
        .encode(
            _month_axis(),
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
    frame = _chartable(by_entity)
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            _month_axis(),
            alt.Y("turnover:Q", title="Turnover (€)"),
            alt.Color("entity:N", scale=ENTITY_COLORS, title="Entity"),
            tooltip=["entity", alt.Tooltip("month:T", format="%Y-%m"), alt.Tooltip("turnover:Q", format=",.2f"),
                     alt.Tooltip("turnover_change_pct:Q", title="change vs previous month (%)", format="+.2f")],
        )
        .properties(height=280)
    )
    change = (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            _month_axis(),
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


def nps() -> None:
    st.title("Net Promoter Score")
    score = query("nps")
    st.caption("One score over every freelancer who answered the satisfaction survey: the filters do not apply.")
    left, middle = st.columns(2)
    left.metric("NPS", "none" if score["nps"] is None else f"{score['nps']:+.2f}")
    middle.metric("Respondents", f"{score['respondents']:,}")
    answers = pl.DataFrame(
        {
            "Answer": ["Promoters", "Passives", "Detractors"],
            "Freelancers": [score["promoters"], score["passives"], score["detractors"]],
            "Scores": ["9-10", "7-8", "0-6"],
        }
    )
    st.altair_chart(
        alt.Chart(_chartable(answers))
        .mark_bar()
        .encode(
            alt.X("Freelancers:Q"),
            alt.Y("Answer:N", sort=["Promoters", "Passives", "Detractors"], title=None),
            alt.Color("Answer:N", scale=NPS_COLORS, legend=None),
            tooltip=["Answer", "Scores", "Freelancers"],
        )
        .properties(height=180),
        width="stretch",
    )
    st.caption("NPS = 100 × (promoters − detractors) / respondents.")
    figures(answers, "Figures: survey answers")


def cohorts() -> None:
    chosen = filters()
    st.title("Turnover by cohort")
    st.caption(
        "The auditor's cohorts: freelancers grouped by the month of their first contract. Each cell is the "
        "turnover the cohort invoiced in a month, by months since the cohort started."
    )
    cells: pl.DataFrame = query("cohort_turnover", chosen.entities, chosen.start, chosen.end)
    if cells.is_empty():
        st.info("No cohort holds a contract in the months shown.")
        return
    frame = cells.with_columns(cohort=pl.col("cohort_month").dt.strftime("%Y-%m"))
    st.altair_chart(
        alt.Chart(_chartable(frame))
        .mark_rect()
        .encode(
            alt.X("months_since_cohort:O", title="Months since the cohort started", axis=alt.Axis(labelOverlap=True)),
            alt.Y("cohort:O", title="Cohort", sort="descending", axis=alt.Axis(labelOverlap=True)),
            alt.Color("turnover:Q", title="Turnover (€)", scale=alt.Scale(scheme="blues")),
            tooltip=["cohort", alt.Tooltip("month:T", format="%Y-%m"), "freelancers",
                     alt.Tooltip("turnover:Q", format=",.2f")],
        )
        .properties(height=max(240, 6 * frame["cohort"].n_unique())),
        width="stretch",
    )
    totals = (
        frame.group_by("cohort")
        .agg(pl.col("freelancers").max().alias("Freelancers (most in a month)"), pl.col("turnover").sum())
        .sort("cohort", descending=True)
        .select(Cohort="cohort", **{"Freelancers (most in a month)": "Freelancers (most in a month)",
                                    "Turnover (€)": pl.col("turnover").map_elements(euros, return_dtype=pl.String)})
    )
    figures(totals, "Figures: turnover per cohort over the months shown")


def movements() -> None:
    chosen = filters()
    st.title("Freelancer movements")
    st.caption(
        "Arrivals: first contract starts. Departures: last contract ends with no later one. "
        "Each counted under the entity of that contract."
    )
    moves: pl.DataFrame = query("movements", chosen.entities, chosen.start, chosen.end)
    left, middle = st.columns(2)
    left.metric("Arrivals over the months shown", f"{moves['joined'].sum():,}")
    middle.metric("Departures over the months shown", f"{moves['left'].sum():,}")
    long = moves.unpivot(index=["month", "entity"], on=["joined", "left"], variable_name="movement", value_name="count")
    long = long.with_columns(
        signed=pl.when(pl.col("movement") == "left").then(-pl.col("count")).otherwise(pl.col("count")),
        movement=pl.col("movement").replace({"joined": "arrivals", "left": "departures"}),
    )
    bars = (
        alt.Chart(_chartable(long))
        .mark_bar()
        .encode(
            _month_axis(),
            alt.Y("signed:Q", title="Arrivals (+) and departures (−)"),
            alt.Color("entity:N", scale=ENTITY_COLORS, title="Entity"),
            tooltip=["entity", "movement", alt.Tooltip("month:T", format="%Y-%m"), "count"],
        )
        .properties(height=280)
    )
    active = (
        alt.Chart(_chartable(moves))
        .mark_line()
        .encode(
            _month_axis(),
            alt.Y("active_at_month_end:Q", title="Active at month end"),
            alt.Color("entity:N", scale=ENTITY_COLORS, title="Entity"),
            tooltip=["entity", alt.Tooltip("month:T", format="%Y-%m"), "active_at_month_end"],
        )
        .properties(height=200)
    )
    st.altair_chart(alt.vconcat(bars, active).resolve_scale(x="shared"), width="stretch")
    figures(
        moves.select(
            Month=pl.col("month").dt.strftime("%Y-%m"),
            Entity="entity",
            Arrivals="joined",
            Departures="left",
            **{"Active at month end": "active_at_month_end"},
        ),
        "Figures: movements",
    )


def freelancers() -> None:
    chosen = filters()
    st.title("Cumulative turnover per freelancer")
    text = st.text_input("Search a freelancer by name", placeholder="e.g. Martin, or Émile Zola")
    if not text.strip():
        st.caption("Type part of a first or last name.")
        return
    found: pl.DataFrame = query("find_freelancers", text, chosen.entities, SEARCH_LIMIT)
    if found.is_empty():
        st.info(f"No freelancer matches “{text}” in the entities chosen.")
        return
    names = [f"{last} {first}" for last, first in found.iter_rows()]
    label = f"{len(names)} match{'es' if len(names) > 1 else ''}"
    if len(names) == SEARCH_LIMIT:
        label = f"The first {SEARCH_LIMIT} matches: type more of the name to narrow them"
    picked = st.selectbox(label, names, index=0)
    last_name, first_name = found.row(names.index(picked))
    history: pl.DataFrame = query("cumulative_turnover", last_name, first_name, chosen.entities, chosen.start, chosen.end)
    if history.is_empty():
        st.info(f"{first_name} {last_name} holds no contract in the months shown.")
        return
    history = history.with_columns(
        contract=pl.format(
            "{} from {}", pl.col("entity"), pl.col("job_contract_start_date").dt.strftime("%Y-%m-%d")
        )
    )
    st.subheader(f"{first_name} {last_name}")
    st.altair_chart(
        alt.Chart(_chartable(history))
        .mark_line(point=True, interpolate="step-after")
        .encode(
            _month_axis(),
            alt.Y("cumulative_turnover:Q", title="Cumulative turnover (€)"),
            alt.Color("contract:N", title="Contract"),
            tooltip=["contract", alt.Tooltip("month:T", format="%Y-%m"),
                     alt.Tooltip("cumulative_turnover:Q", format=",.2f")],
        ),
        width="stretch",
    )
    latest = history.group_by("contract", "entity", "job_contract_start_date", "job_contract_end_date").agg(
        pl.col("month").max(), pl.col("cumulative_turnover").last()
    ).sort("job_contract_start_date")
    figures(
        latest.select(
            Contract="contract",
            Entity="entity",
            Start=pl.col("job_contract_start_date").dt.strftime("%Y-%m-%d"),
            End=pl.col("job_contract_end_date").dt.strftime("%Y-%m-%d").fill_null("open"),
            **{
                "Through": pl.col("month").dt.strftime("%Y-%m"),
                "Cumulative turnover (€)": pl.col("cumulative_turnover").map_elements(euros, return_dtype=pl.String),
            },
        ),
        "Figures: latest cumulative turnover per contract",
    )
