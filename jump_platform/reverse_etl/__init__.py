"""Reverse ETL: pushing marts back into the tools teams work in (the CRM, finance's HTTP endpoint).

`plan` decides what changed since the last sync (pure polars), `targets` builds the dlt
destinations, `runner` moves the changes with dlt and keeps the record of what the target holds.
"""

import os

# dlt's anonymous usage telemetry stays off unless an operator turns it on.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
