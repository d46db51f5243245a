"""The dashboard's pages, for the navigation (`app.py`) and for links between them.

The landing page is the overview, at `/`: every other page has its own address (`/turnover`,
`/care`...), which opens it directly (a default page answers only at `/`: Streamlit showed
"Page not found" at `/turnover` while Turnover was the default).
"""

import streamlit as st

from jump_platform.dashboard import pages, turnover_page

OVERVIEW = st.Page(pages.overview, title="Overview", icon=":material/dashboard:", url_path="overview", default=True)
TURNOVER = st.Page(turnover_page.turnover, title="Turnover", icon=":material/euro:", url_path="turnover")
CARE = st.Page(pages.care, title="Care: at risk", icon=":material/support_agent:", url_path="care")
NPS = st.Page(pages.nps, title="NPS", icon=":material/sentiment_satisfied:", url_path="nps")
COHORTS = st.Page(pages.cohorts, title="Cohorts", icon=":material/grid_on:", url_path="cohorts")
MOVEMENTS = st.Page(pages.movements, title="Movements", icon=":material/swap_horiz:", url_path="movements")
FREELANCERS = st.Page(pages.freelancers, title="Freelancers", icon=":material/person_search:", url_path="freelancers")

PAGES = [OVERVIEW, TURNOVER, CARE, NPS, COHORTS, MOVEMENTS, FREELANCERS]
