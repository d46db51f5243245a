"""Schedules: the daily refresh and the monthly invoices, in Paris time.

Which producer feeds the landing zone (`JUMP_PRODUCER`, see `settings.producer`) decides what they
run; `JUMP_AUTOMATION=off` (`make dev`'s default) or `JUMP_SCHEDULES=off` makes them start stopped
(a toggle in the UI does the same, and wins).
"""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

from jump_platform import settings
from jump_platform.defs.as_of import as_of_tags
from jump_platform.defs.jobs import refresh_downstream_job, refresh_job
from jump_platform.defs.sources.invoices_by_month import invoices_by_month

TIMEZONE = "Europe/Paris"


def scheduled_date(context: dg.ScheduleEvaluationContext) -> dt.date:
    """The day of the tick, in Paris: the as-of date of the run it launches."""
    when = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    return when.astimezone(ZoneInfo(TIMEZONE)).date()


def _default_status() -> dg.DefaultScheduleStatus:
    """Running unless `JUMP_AUTOMATION=off` (what `make dev` gives) or `JUMP_SCHEDULES=off`."""
    running = settings.automation_on() and settings.schedules_on()
    return dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED


def daily_refresh_schedule(producer: str) -> dg.ScheduleDefinition:
    """At 06:00 every day, refresh the lakehouse as of that day.

    With the generator, the whole graph: new demo extracts, their load, models and exports. With
    real extracts, the generator never runs: the landing-zone sensor loads deliveries as they
    arrive, and this schedule rebuilds the models and exports from `sources` as they are, so the
    marts describe the new day (open contracts, the month in progress).
    """
    job = refresh_job if producer == "generator" else refresh_downstream_job

    @dg.schedule(
        name="daily_refresh",
        cron_schedule="0 6 * * *",
        execution_timezone=TIMEZONE,
        job=job,
        default_status=_default_status(),
        description=f"06:00 Paris time: `{job.name}` as of that day (JUMP_PRODUCER={producer}).",
    )
    def daily_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        as_of = scheduled_date(context)
        return dg.RunRequest(run_key=f"daily_refresh-{as_of}", tags=as_of_tags(as_of))

    return daily_refresh


def monthly_invoices_schedule(producer: str) -> dg.ScheduleDefinition:
    """On the 1st of each month at 05:00, write the invoices of the month that just closed.

    That month is the latest partition holding a whole month. Its file lands in the landing zone as
    an increment, and the landing-zone sensor loads it and refreshes what depends on invoices.
    With real extracts the generator never runs, and every tick is skipped.
    """

    @dg.schedule(
        name="monthly_invoices",
        cron_schedule="0 5 1 * *",
        execution_timezone=TIMEZONE,
        job=invoices_by_month,
        default_status=_default_status(),
        description=f"05:00 Paris time on the 1st: the demo invoices of the month that just closed "
        f"(skipped unless JUMP_PRODUCER=generator; now {producer}).",
    )
    def monthly_invoices(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        if producer != "generator":
            return dg.SkipReason("JUMP_PRODUCER=extracts: the generator is switched off.")
        as_of = scheduled_date(context)
        closed_month = (as_of.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
        return dg.RunRequest(run_key=f"monthly_invoices-{closed_month}", partition_key=closed_month, tags=as_of_tags(as_of))

    return monthly_invoices


@dg.definitions
def schedules() -> dg.Definitions:
    """The schedules, for the producer configured when the code location loads."""
    producer = settings.producer()
    return dg.Definitions(schedules=[daily_refresh_schedule(producer), monthly_invoices_schedule(producer)])
