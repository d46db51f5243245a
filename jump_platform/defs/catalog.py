"""What the catalog shows of every asset besides its own description: who owns it, and how fresh
the marts must be."""

import datetime as dt

import dagster as dg

# Every asset of the lakehouse belongs to the data team.
OWNERS = ["team:data"]

# The daily refresh rebuilds the marts at 06:00 (and deliveries rebuild them in between): marts
# older than a day are late, and show as failing their freshness policy (nothing is blocked).
MARTS_FRESH_FOR = dt.timedelta(days=1)
MARTS_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=MARTS_FRESH_FOR)
