"""The dashboard: a Streamlit app on a copy of the marts (`make dashboard`).

`snapshot` copies the marts the dashboard shows out of the published lakehouse into its own DuckDB
file (the `dashboard/marts` asset), `data` queries that file, `app` and `pages` draw it.
"""
