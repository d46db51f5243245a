"""What every page shares: cached queries, the header, the filters, number formats."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import polars as pl
import streamlit as st

from jump_platform import settings
from jump_platform.dashboard import data

FILTERS_KEY = "jump_filters"


def _version(snapshot: Path) -> int:
    """Changes whenever the copy is replaced, so cached results follow a refresh."""
    return snapshot.stat().st_mtime_ns if snapshot.exists() else 0


@st.cache_data(show_spinner=False, max_entries=256)
def _cached(name: str, snapshot: str, version: int, arguments: tuple) -> object:
    return getattr(data, name)(Path(snapshot), *arguments)


def query(name: str, *arguments: object) -> object:
    """`data.<name>(snapshot, *arguments)`, cached until the copy is refreshed."""
    snapshot = settings.dashboard_path()
    frozen = tuple(tuple(value) if isinstance(value, list) else value for value in arguments)
    return _cached(name, str(snapshot), _version(snapshot), frozen)


def about(snapshot: Path) -> data.About | None:
    return data.about(snapshot)


def header(about: data.About) -> None:
    published = about.published_at.astimezone().strftime("%Y-%m-%d %H:%M %Z")
    st.caption(
        f"Figures as of **{about.as_of_date:%Y-%m-%d}** · lakehouse last published **{published}**",
    )


@dataclass(frozen=True)
class Filters:
    entities: list[str]
    start: dt.date
    end: dt.date
    as_of_month: dt.date
    """The month of the as-of date: later months hold only invoices issued in advance."""
    as_of_date: dt.date
    """The date the figures describe: the as-of month is in progress until its last day."""


def month_label(month: dt.date) -> str:
    return f"{month:%Y-%m}"


def sidebar_filters(snapshot: Path) -> None:
    """Entity and month range in the sidebar, first taken from the URL; kept for every page."""
    all_entities: list[str] = query("entities")
    months: list[dt.date] = query("months")
    labels = [month_label(month) for month in months]
    # the URL gives the first values; the widgets keep them from then on, across pages
    params = st.query_params
    wanted = [entity for entity in params.get_all("entity") if entity in all_entities] or all_entities
    first = params.get("from") if params.get("from") in labels else labels[0]
    last = params.get("to") if params.get("to") in labels else labels[-1]
    with st.sidebar:
        st.multiselect(
            "Entities", all_entities, default=wanted, key="entities", format_func=lambda entity: f"Jump {entity.title()}"
        )
        st.select_slider("Months", options=labels, value=(min(first, last), max(first, last)), key="months")
    first, last = st.session_state["months"]
    st.query_params.from_dict({"entity": st.session_state["entities"], "from": first, "to": last})
    st.session_state[FILTERS_KEY] = Filters(
        entities=list(st.session_state["entities"]),
        start=months[labels.index(first)],
        end=months[labels.index(last)],
        as_of_month=query("about").as_of_date.replace(day=1),
        as_of_date=query("about").as_of_date,
    )


def filters(need_entity: bool = True) -> Filters:
    """The filters of the sidebar; stops the page with a hint when no entity is picked."""
    chosen: Filters = st.session_state[FILTERS_KEY]
    if need_entity and not chosen.entities:
        st.info("Pick at least one entity in the sidebar.")
        st.stop()
    return chosen


def euros(value: Decimal | float | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def percent(value: Decimal | float | None) -> str:
    return "" if value is None else f"{value:+,.2f} %"


def figures(frame: pl.DataFrame, label: str = "Figures") -> None:
    """The numbers behind a chart, as a plain table in an expander."""
    with st.expander(label):
        st.table(frame.to_pandas().set_index(frame.columns[0]))
