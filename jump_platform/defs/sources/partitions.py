"""Monthly partitions of the invoices, by issue month: from the first month of data (2019-01,
the generator's `HISTORY_START`) through the current month."""

import dagster as dg

from jump_platform.sources.generator import HISTORY_START

INVOICE_MONTHS = dg.MonthlyPartitionsDefinition(
    start_date=HISTORY_START.strftime("%Y-%m"),
    fmt="%Y-%m",
    timezone="Europe/Paris",
    # Include the month in progress: its partition holds the invoices issued so far.
    end_offset=1,
)
