"""The as-of date of a run: one date for every step of it.

The generator cuts the extracts at the as-of date and the dbt models describe the lakehouse on it
(dbt var `as_of_date`), so the steps of one run must agree on it, even when a run crosses midnight.
`run_as_of` decides it, in this order:
1. the run tag `jump/as_of` (`YYYY-MM-DD`), which the schedules set to their scheduled date and
   anyone can set when launching a run;
2. `JUMP_AS_OF`;
3. the day the run was created (local time), the same for all its steps.
The extract assets' run config `as_of`, when given, still wins for those assets.
"""

import datetime as dt

import dagster as dg

from jump_platform import settings

AS_OF_TAG = "jump/as_of"


def run_as_of(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext | dg.OpExecutionContext) -> dt.date:
    """The as-of date of the run `context` belongs to."""
    tag = context.run.tags.get(AS_OF_TAG)
    if tag:
        try:
            return settings.parse_as_of(tag, f"run tag {AS_OF_TAG}")
        except settings.SettingsError as error:
            raise dg.Failure(str(error)) from None
    record = context.instance.get_run_record_by_id(context.run.run_id)
    created = record.create_timestamp.astimezone().date() if record else None
    return settings.as_of_date(default=created)


def as_of_tags(as_of: dt.date) -> dict[str, str]:
    """Run tags that pin a run's as-of date."""
    return {AS_OF_TAG: as_of.isoformat()}
