"""Notifications about finished runs (the successor of the n8n failure email)."""

import dagster as dg

from jump_platform.defs.notifications.sensors import notify_on_run_failure, notify_on_run_success

defs = dg.Definitions(sensors=[notify_on_run_failure, notify_on_run_success])
