"""The as-of date is one fact per run: resolved once, kept in the run's tag, read by every step."""

import datetime as dt
import os
from pathlib import Path

import dagster as dg
import pytest

from jump_platform.defs.as_of import AS_OF_TAG, run_as_of
from jump_platform.defs.sources.assets import ExtractConfig

seen: dict[str, dt.date] = {}


@dg.asset
def first(context: dg.AssetExecutionContext) -> None:
    seen["first"] = run_as_of(context)
    # The environment of the run's process changes while the run goes on (a deploy, a test, a day).
    os.environ["JUMP_AS_OF"] = "2024-02-02"


@dg.asset(deps=[first])
def second(context: dg.AssetExecutionContext) -> None:
    seen["second"] = run_as_of(context)


def test_every_step_of_a_run_sees_the_as_of_date_the_run_started_with(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUMP_AS_OF", "2024-01-01")  # restored after the test, whatever the assets set
    seen.clear()
    result = dg.materialize([first, second], instance=dg.DagsterInstance.ephemeral())
    assert result.success
    assert seen == {"first": dt.date(2024, 1, 1), "second": dt.date(2024, 1, 1)}


def test_the_resolved_date_is_written_to_the_run_s_tag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUMP_AS_OF", "2024-01-01")
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([first, second], instance=instance)
    assert instance.get_run_by_id(result.run_id).tags[AS_OF_TAG] == "2024-01-01"


def test_a_run_without_the_variable_takes_the_day_it_was_created(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUMP_AS_OF", raising=False)
    seen.clear()
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([second], instance=instance)
    created = instance.get_run_record_by_id(result.run_id).create_timestamp.astimezone().date()
    assert seen["second"] == created
    assert instance.get_run_by_id(result.run_id).tags[AS_OF_TAG] == created.isoformat()


def test_extracts_cannot_be_taken_before_the_run_s_as_of_date(data_dir: Path) -> None:
    as_of = dt.date(2024, 6, 30)
    assert ExtractConfig(extracted_on="2024-07-31").params(as_of).as_of == dt.date(2024, 7, 31)
    assert ExtractConfig().params(as_of).as_of == as_of
    with pytest.raises(dg.Failure, match="on or after the run's as-of date 2024-06-30"):
        ExtractConfig(extracted_on="2024-01-31").params(as_of)


@pytest.mark.slow
def test_dbt_gets_the_run_s_date_for_its_invocation_only_never_through_this_process_s_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jump_platform.defs.transform.resources import dbt_invocation_env, dbt_resource

    before = dict(os.environ)
    env = dbt_invocation_env(Path(":memory:"), dt.date(2024, 6, 15))

    def refuse(environ: object, name: str, value: str) -> None:
        raise AssertionError(f"os.environ[{name!r}] was set")

    monkeypatch.setattr(type(os.environ), "__setitem__", refuse)
    target = tmp_path / "target"
    invocation = dbt_resource().cli_with_env(["compile", "--select", "dim_dates"], env=env, target_path=target)
    invocation.wait()
    monkeypatch.undo()
    (compiled,) = (target / "compiled").rglob("dim_dates.sql")
    assert "cast('2024-06-15' as date)" in compiled.read_text()
    assert dict(os.environ) == before
    assert not list(target.glob("invocation-env-*"))  # the launcher removed the file as dbt started
