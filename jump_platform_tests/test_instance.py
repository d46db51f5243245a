"""The Dagster instance: SQLite files by default, PostgreSQL storage shared by several hosts with
`JUMP_DAGSTER_POSTGRES_URL` (see `jump_platform.runner.instance`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest
import yaml

from jump_platform.runner.instance import INSTANCE_YAML, instance_config, write_instance


@dg.asset
def shared_history_probe() -> int:
    return 42


def test_without_a_postgres_url_the_instance_is_the_projects_sqlite_one(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("JUMP_DAGSTER_POSTGRES_URL", raising=False)
    assert write_instance(tmp_path) is True
    assert (tmp_path / "dagster.yaml").read_text() == INSTANCE_YAML.read_text()
    # unchanged settings: not rewritten (and the instance not prepared again)
    assert write_instance(tmp_path) is False


def test_a_postgres_url_adds_postgres_storage_naming_the_variable_never_its_password(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("JUMP_DAGSTER_POSTGRES_URL", "postgresql://dagster:s3cret@db.example:5432/dagster")
    write_instance(tmp_path)
    text = (tmp_path / "dagster.yaml").read_text()
    assert "s3cret" not in text and "db.example" not in text
    config = yaml.safe_load(text)
    assert config["storage"] == {"postgres": {"postgres_url": {"env": "JUMP_DAGSTER_POSTGRES_URL"}}}
    # the rest is the project's instance, untouched
    assert {key: value for key, value in config.items() if key != "storage"} == yaml.safe_load(INSTANCE_YAML.read_text())
    assert instance_config() == text


def test_a_dagster_postgres_url_that_is_not_one_is_refused(monkeypatch) -> None:
    from jump_platform import settings

    monkeypatch.setenv("JUMP_DAGSTER_POSTGRES_URL", "mysql://somewhere")
    assert [error.variable for error in settings.validate()] == ["JUMP_DAGSTER_POSTGRES_URL"]


@pytest.mark.slow
def test_two_hosts_on_one_postgres_storage_share_the_run_history(
    tmp_path: Path, monkeypatch, postgres_database: Callable[[str], str]
) -> None:
    """A run launched on one host is seen, with its events and materialization, from another."""
    monkeypatch.setenv("JUMP_DAGSTER_POSTGRES_URL", postgres_database("dagster_instance"))
    host_a, host_b = tmp_path / "host_a", tmp_path / "host_b"
    write_instance(host_a)
    write_instance(host_b)

    with dg.DagsterInstance.from_config(str(host_a)) as instance_a:
        assert type(instance_a.run_storage).__name__ == "PostgresRunStorage"
        result = dg.materialize([shared_history_probe], instance=instance_a)
        assert result.success

    with dg.DagsterInstance.from_config(str(host_b)) as instance_b:
        run = instance_b.get_run_by_id(result.run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        events = [record.dagster_event.event_type for record in instance_b.all_logs(result.run_id) if record.dagster_event]
        assert dg.DagsterEventType.RUN_SUCCESS in events and dg.DagsterEventType.ASSET_MATERIALIZATION in events
        latest = instance_b.get_latest_materialization_event(shared_history_probe.key)
        assert latest is not None and latest.run_id == result.run_id
