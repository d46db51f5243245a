"""The dashboard's pages, one function each (Turnover in `turnover_page.py`); `app.py` puts them
in the navigation."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from jump_platform.dashboard.charts import ENTITY_COLORS, NPS_COLORS, chartable, month_axis
from jump_platform.dashboard.ui import euros, figures, filters, query

SEARCH_LIMIT = 50


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
        alt.Chart(chartable(answers))
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
        alt.Chart(chartable(frame))
        .mark_rect()
        .encode(
            alt.X("months_since_cohort:O", title="Months since the cohort started", axis=alt.Axis(labelOverlap=True)),
            alt.Y("cohort:O", title="Cohort", sort="descending", axis=alt.Axis(labelOverlap=True)),
            alt.Color("turnover:Q", title="Turnover (€)", scale=alt.Scale(scheme="blues")),
            tooltip=["cohort", alt.Tooltip("month:T", format="%Y-%m"), "freelancers", alt.Tooltip("turnover:Q", format=",.2f")],
        )
        .properties(height=max(240, 6 * frame["cohort"].n_unique())),
        width="stretch",
    )
    totals = (
        frame.group_by("cohort")
        .agg(pl.col("freelancers").max().alias("Freelancers (most in a month)"), pl.col("turnover").sum())
        .sort("cohort", descending=True)
        .select(
            Cohort="cohort",
            **{
                "Freelancers (most in a month)": "Freelancers (most in a month)",
                "Turnover (€)": pl.col("turnover").map_elements(euros, return_dtype=pl.String),
            },
        )
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
        alt.Chart(chartable(long))
        .mark_bar()
        .encode(
            month_axis(),
            alt.Y("signed:Q", title="Arrivals (+) and departures (−)"),
            alt.Color("entity:N", scale=ENTITY_COLORS, title="Entity"),
            tooltip=["entity", "movement", alt.Tooltip("month:T", format="%Y-%m"), "count"],
        )
        .properties(height=280)
    )
    active = (
        alt.Chart(chartable(moves))
        .mark_line()
        .encode(
            month_axis(),
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
        contract=pl.format("{} from {}", pl.col("entity"), pl.col("job_contract_start_date").dt.strftime("%Y-%m-%d"))
    )
    st.subheader(f"{first_name} {last_name}")
    st.altair_chart(
        alt.Chart(chartable(history))
        .mark_line(point=True, interpolate="step-after")
        .encode(
            month_axis(),
            alt.Y("cumulative_turnover:Q", title="Cumulative turnover (€)"),
            alt.Color("contract:N", title="Contract"),
            tooltip=["contract", alt.Tooltip("month:T", format="%Y-%m"), alt.Tooltip("cumulative_turnover:Q", format=",.2f")],
        ),
        width="stretch",
    )
    latest = (
        history.group_by("contract", "entity", "job_contract_start_date", "job_contract_end_date")
        .agg(pl.col("month").max(), pl.col("cumulative_turnover").last())
        .sort("job_contract_start_date")
    )
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
