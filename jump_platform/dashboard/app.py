"""The Jump dashboard: `make dashboard`, or `python -m jump_platform.runner.dashboard`.

The entry point Streamlit runs on every interaction: it reads the dashboard's copy of the marts,
shows the as-of date and the last publish time, draws the filters in the sidebar, then the page
picked in the navigation (`navigation.py`: the overview at `/`, then `turnover_page.py`, `pages.py`). Filters live in the URL too
(`?entity=blue&from=2025-01&to=2025-06`), so a view can be shared as a link.
"""

import streamlit as st

from jump_platform import settings
from jump_platform.dashboard import ui
from jump_platform.dashboard.navigation import PAGES

st.set_page_config(page_title="Jump dashboard", page_icon=":bar_chart:", layout="wide")

navigation = st.navigation(PAGES)

snapshot = settings.dashboard_path()
about = ui.about(snapshot)
if about is None:
    st.title("Jump dashboard")
    st.info(
        f"No dashboard data yet at `{snapshot}`. Build the lakehouse with `make run` "
        "(or refresh the `dashboard/marts` asset), then reload this page."
    )
    st.stop()

ui.header(about)
ui.sidebar_filters(snapshot)
navigation.run()
