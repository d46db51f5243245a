"""The settings whose values only the sources can judge: the anomaly names (`JUMP_ANOMALIES`) and
the first as-of date with data (`JUMP_AS_OF`, a run's tag, a config field).

`jump_platform.settings` reads and types every variable but imports nothing of the platform, so the
names the sources define are checked here, by their owners: `validate_settings` is `settings.validate`
with these checks, what the CLI and the code location call before anything runs.
"""

from __future__ import annotations

import datetime as dt

from jump_platform import settings
from jump_platform.settings import SettingsError
from jump_platform.sources.anomalies import ANOMALIES
from jump_platform.sources.generator.params import HISTORY_START


def check_as_of(value: dt.date, source: str) -> dt.date:
    """`value`, if Jump has data on that day: on or after the first day of its history."""
    if value < HISTORY_START:
        raise SettingsError(
            source,
            f"a date on or after {HISTORY_START}, when Jump's data starts (before it every table is empty)",
            value.isoformat(),
        )
    return value


def parse_as_of(raw: str, source: str) -> dt.date:
    """An as-of date given as text by `source` (a variable, a tag, a config field): an ISO date on or
    after the first day of Jump's history, before which no data can exist."""
    return check_as_of(settings.parse_as_of(raw, source), source)


def check_anomaly_names(names: list[str], source: str = "JUMP_ANOMALIES") -> list[str]:
    """`names`, if each one is an anomaly the generator can inject; the error names the unknown ones."""
    unknown = [name for name in names if name not in ANOMALIES]
    if unknown:
        raise SettingsError(source, f"comma-separated names among {', '.join(ANOMALIES)}", ", ".join(unknown))
    return names


def _as_of() -> None:
    value = settings.read("as_of")
    if value:
        check_as_of(value, "JUMP_AS_OF")


def _anomalies() -> None:
    check_anomaly_names(settings.anomalies())


SETTINGS_CHECKS = (_as_of, _anomalies)


def validate_settings() -> list[SettingsError]:
    """Every unusable setting, the sources' names included (see `settings.validate`)."""
    return settings.validate(SETTINGS_CHECKS)


def check_settings() -> None:
    """Raise the first unusable setting's error (see `validate_settings`)."""
    settings.check(SETTINGS_CHECKS)
