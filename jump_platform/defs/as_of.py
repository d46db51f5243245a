"""The as-of date of a run: one fact per run, kept in its tag `jump/as_of`, read by every step.

The generator cuts the extracts at the as-of date and the dbt models describe the lakehouse on it,
so the steps of one run must agree on it, even when a run crosses midnight, or when the clock or
the environment of its process changes while it runs. It is resolved once (`resolve_as_of`):
`JUMP_AS_OF`, else the day the run was created (local time).
- Runs created by the platform carry it from their creation: the CLI (`runner/cli.py`), the
  schedules (their scheduled date) and the landing-zone sensor set the tag (`as_of_tags`); anyone
  launching a run may set it too.
- A run created without it (from the UI, by the automation condition sensor, `dg.materialize`) gets
  it from its first step that needs it: `run_as_of` resolves it from the run's creation time and
  writes the tag to the run, and every later step reads that tag.
dbt gets it from the step for each invocation (`defs/transform/assets.py`); the extracts cannot
disagree with the models (`ExtractConfig.extracted_on` is another fact: the day the extract was
taken, never before the as-of date).
"""

import datetime as dt

import dagster as dg

from jump_platform import settings
from jump_platform.sources.settings_checks import parse_as_of

AS_OF_TAG = "jump/as_of"


def resolve_as_of(created: dt.datetime | None = None) -> dt.date:
    """The as-of date of a run created at `created` (None: now): `JUMP_AS_OF`, else that day."""
    return settings.as_of_date(default=created.astimezone().date() if created else None)


def as_of_tags(as_of: dt.date | None = None) -> dict[str, str]:
    """Run tags that pin a run's as-of date: `as_of`, else the one a run created now gets."""
    return {AS_OF_TAG: (as_of or resolve_as_of()).isoformat()}


def _tag(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext | dg.OpExecutionContext) -> str | None:
    # The run as this step loaded it may predate the tag an earlier step of the run wrote.
    tag = context.run.tags.get(AS_OF_TAG)
    if tag is None:
        run = context.instance.get_run_by_id(context.run.run_id)
        tag = run.tags.get(AS_OF_TAG) if run else None
    return tag


def run_as_of(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext | dg.OpExecutionContext) -> dt.date:
    """The as-of date of the run `context` belongs to: its tag, written now if the run has none."""
    tag = _tag(context)
    if tag is None:
        record = context.instance.get_run_record_by_id(context.run.run_id)
        resolved = resolve_as_of(record.create_timestamp if record else None)
        context.instance.add_run_tags(context.run.run_id, as_of_tags(resolved))
        context.log.info(f"The run's as-of date: {resolved} (tag {AS_OF_TAG}, resolved once for every step).")
        tag = _tag(context) or resolved.isoformat()
    try:
        return parse_as_of(tag, f"run tag {AS_OF_TAG}")
    except settings.SettingsError as error:
        raise dg.Failure(str(error)) from None
