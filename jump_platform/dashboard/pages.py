"""The dashboard's pages, one function each (Turnover in `turnover_page.py`); `app.py` puts them
in the navigation."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from jump_platform.dashboard.charts import ENTITY_COLORS, NPS_COLORS, chartable, month_axis
from jump_platform.dashboard.ui import euros, figures, filters, query

SEARCH_LIMIT = 50
TOP_FREELANCERS = 20
AT_RISK_SHOWN = 100


def overview() -> None:
    """The landing page: one figure per page, each a link to it."""
    from jump_platform.dashboard.navigation import CARE, NPS, TURNOVER
    from jump_platform.dashboard.turnover_page import headline, show_headline

    chosen = filters()
    st.title("Jump dashboard")
    month = headline(query("monthly_turnover", chosen.start, chosen.end), chosen.as_of_date)
    score = query("nps")
    left, middle, right = st.columns(3)
    show_headline(left, month)
    left.page_link(TURNOVER, label="Turnover, month by month", icon=":material/euro:")
    middle.metric("Freelancers at risk", f"{query('at_risk_count', chosen.entities):,}")
    middle.page_link(CARE, label="The care team's list", icon=":material/support_agent:")
    right.metric("NPS", "none" if score["nps"] is None else f"{score['nps']:+.2f}")
    right.page_link(NPS, label="Survey answers", icon=":material/sentiment_satisfied:")
    st.caption("Cohorts, movements and each freelancer's cumulative turnover are in the navigation on the left.")


def care() -> None:
    """The care team's page: the freelancers marts.freelancer_health flags at risk."""
    chosen = filters()
    st.title("Freelancers at risk")
    st.caption(
        "At risk: no invoice in the recent months, or a detractor in the satisfaction survey "
        "(marts.freelancer_health, as of the as-of date). Those still under contract first, then by "
        "turnover over the last 12 months. Freelancers without an entity (no contract) are always listed."
    )
    total: int = query("at_risk_count", chosen.entities)
    st.metric("Freelancers at risk", f"{total:,}")
    if total == 0:
        st.info("No freelancer of the entities chosen is at risk.")
        return
    listed: pl.DataFrame = query("freelancers_at_risk", chosen.entities, AT_RISK_SHOWN)
    if total > listed.height:
        st.caption(f"The first {listed.height} of {total:,}; the download holds them all.")
    table = listed.select(
        Freelancer=pl.format("{} {}", "first_name", "last_name"),
        Email="email",
        Entity=pl.col("current_entity").fill_null("none"),
        Contract="contract_status",
        **{
            "Last invoice": pl.col("last_invoice_date").dt.strftime("%Y-%m-%d").fill_null("never"),
            "Turnover, last 12 months (€)": pl.col("turnover_last_12_months").map_elements(euros, return_dtype=pl.String),
            "NPS": pl.col("nps_category").fill_null("no answer"),
            "Why": "why",
        },
    )
    st.table(table.to_pandas().set_index("Freelancer"))
    everyone: pl.DataFrame = query("freelancers_at_risk", chosen.entities, total)
    st.download_button(
        "Download the whole list (CSV)", everyone.write_csv(), file_name="freelancers_at_risk.csv", mime="text/csv"
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
    if text.strip():
        found: pl.DataFrame = query("find_freelancers", text, chosen.entities, SEARCH_LIMIT)
        if found.is_empty():
            st.info(f"No freelancer matches “{text}” in the entities chosen.")
            return
        count = found.height
        label = f"{count} match{'es' if count > 1 else ''}"
        if count == SEARCH_LIMIT:
            label = f"The first {SEARCH_LIMIT} matches: type more of the name to narrow them"
    else:
        # Before a name is typed: those who invoiced the most lately, the first one shown at once.
        found = query("top_freelancers", chosen.entities, TOP_FREELANCERS)
        if found.is_empty():
            st.caption("Type part of a first or last name.")
            return
        label = f"The {found.height} who invoiced the most over the last 12 months (or search a name above)"
    names = [f"{last} {first}" for last, first in found.iter_rows()]
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
