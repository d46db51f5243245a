"""The Dagster instance: SQLite files by default, PostgreSQL storage shared by several hosts with
`JUMP_DAGSTER_POSTGRES_URL` (see `jump_platform.runner.instance`)."""

from __future__ import annotations

import logging
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest
import yaml

from jump_platform.runner.event_log import JumpSqliteEventLogStorage
from jump_platform.runner.instance import INSTANCE_YAML, instance_config, write_instance


@dg.asset
def shared_history_probe() -> int:
    return 42


@dg.asset_check(asset=shared_history_probe)
def probe_is_positive() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True, metadata={"offending_rows": 0})


def test_without_a_postgres_url_the_instance_is_the_projects_sqlite_one(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("JUMP_DAGSTER_POSTGRES_URL", raising=False)
    assert write_instance(tmp_path) is True
    config = yaml.safe_load((tmp_path / "dagster.yaml").read_text())
    # the project's instance, its event log in Dagster's own folder of SQLite files, on kept connections
    assert {key: value for key, value in config.items() if key != "event_log_storage"} == yaml.safe_load(
        INSTANCE_YAML.read_text()
    )
    assert config["event_log_storage"] == {
        "module": "jump_platform.runner.event_log",
        "class": "JumpSqliteEventLogStorage",
        "config": {"base_dir": str(tmp_path / "history" / "runs")},
    }
    # unchanged settings: not rewritten (and the instance not prepared again)
    assert write_instance(tmp_path) is False


def _run_events(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, str | None]]:
    return [
        (record.dagster_event.event_type_value, record.step_key) for record in instance.all_logs(run_id) if record.dagster_event
    ]


def test_the_kept_connections_event_log_writes_dagsters_own_files(tmp_path: Path, monkeypatch) -> None:
    """A run's events, written on kept connections, are read back whole by Dagster's default SQLite
    storage: the run's file, and the index of the materializations and check results."""
    monkeypatch.delenv("JUMP_DAGSTER_POSTGRES_URL", raising=False)
    write_instance(tmp_path)
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert isinstance(instance.event_log_storage, JumpSqliteEventLogStorage)
        result = dg.materialize([shared_history_probe, probe_is_positive], instance=instance)
        assert result.success
        written = _run_events(instance, result.run_id)

    default = tmp_path / "default_home"
    default.mkdir()
    shutil.copytree(tmp_path / "history", default / "history")
    shutil.copy(INSTANCE_YAML, default / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(default)) as instance:
        assert type(instance.event_log_storage).__name__ == "SqliteEventLogStorage"
        assert _run_events(instance, result.run_id) == written
        assert "ASSET_CHECK_EVALUATION" in {kind for kind, _ in written}
        latest = instance.get_latest_materialization_event(shared_history_probe.key)
        assert latest is not None and latest.run_id == result.run_id
        check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(shared_history_probe.key, "probe_is_positive")]
        )
        assert [execution.run_id for execution in check.values()] == [result.run_id]


def test_a_wiped_instance_writes_its_next_runs_where_it_reads_them(tmp_path: Path, monkeypatch) -> None:
    """Wiping deletes the runs' files: the kept connections close with them, so the events of a run
    after the wipe land in its new file, not in a deleted one."""
    monkeypatch.delenv("JUMP_DAGSTER_POSTGRES_URL", raising=False)
    write_instance(tmp_path)
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        before = dg.materialize([shared_history_probe], instance=instance)
        instance.wipe()
        assert instance.all_logs(before.run_id) == []
        after = dg.materialize([shared_history_probe], instance=instance)
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert "ASSET_MATERIALIZATION" in {kind for kind, _ in _run_events(instance, after.run_id)}


def test_a_watcher_of_a_run_hears_each_event_another_instance_writes(tmp_path: Path, monkeypatch) -> None:
    """The UI follows a running run by watching its file (`storage.watch`): an event written on a
    kept connection by another instance (the run's process), which leaves the file itself unchanged
    (WAL), still reaches it."""
    monkeypatch.delenv("JUMP_DAGSTER_POSTGRES_URL", raising=False)
    write_instance(tmp_path)
    run_id = str(uuid.uuid4())
    heard: list[str] = []
    arrived = threading.Event()

    def callback(entry: dg.EventLogEntry, _cursor: str) -> None:
        heard.append(entry.user_message)
        if len(heard) == 3:
            arrived.set()

    def event(message: str) -> dg.EventLogEntry:
        return dg.EventLogEntry(error_info=None, level=logging.INFO, user_message=message, run_id=run_id, timestamp=time.time())

    with (
        dg.DagsterInstance.from_config(str(tmp_path)) as writer,
        dg.DagsterInstance.from_config(str(tmp_path)) as reader,
    ):
        writer.event_log_storage.store_event(event("first"))
        reader.event_log_storage.watch(run_id, None, callback)
        time.sleep(0.5)  # the watcher's observer starts
        writer.event_log_storage.store_event(event("second"))
        writer.event_log_storage.store_event(event("third"))
        assert arrived.wait(timeout=30), f"the watcher heard only {heard}"
        reader.event_log_storage.end_watch(run_id, callback)
    assert heard == ["first", "second", "third"]


def test_a_postgres_url_adds_postgres_storage_naming_the_variable_never_its_password(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("JUMP_DAGSTER_POSTGRES_URL", "postgresql://dagster:s3cret@db.example:5432/dagster")
    write_instance(tmp_path)
    text = (tmp_path / "dagster.yaml").read_text()
    assert "s3cret" not in text and "db.example" not in text
    config = yaml.safe_load(text)
    assert config["storage"] == {"postgres": {"postgres_url": {"env": "JUMP_DAGSTER_POSTGRES_URL"}}}
    # the rest is the project's instance, untouched
    assert {key: value for key, value in config.items() if key != "storage"} == yaml.safe_load(INSTANCE_YAML.read_text())
    assert instance_config(tmp_path) == text


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


# --- one lakehouse step at a time wherever the instance is shared --------------------------------------


def test_every_step_that_writes_the_lakehouse_is_in_the_pool_the_instance_limits_to_one(tmp_path: Path, monkeypatch) -> None:
    """Whatever the storage (SQLite, or PostgreSQL shared by several hosts), the instance written
    by `make prepare` gives the `lakehouse` pool one slot, and every step that takes the build
    (`warehouse`) is in that pool."""
    from jump_platform.definitions import defs

    for url in ("", "postgresql://dagster:s3cret@db.example:5432/dagster"):
        monkeypatch.setenv("JUMP_DAGSTER_POSTGRES_URL", url)
        config = yaml.safe_load(instance_config(tmp_path))
        assert config["concurrency"]["pools"]["default_limit"] == 1, url or "sqlite"
    writers = [
        assets_def.node_def
        for assets_def in defs().resolve_asset_graph().assets_defs
        if assets_def.is_executable and "warehouse" in assets_def.required_resource_keys
    ]
    assert len({writer.name for writer in writers}) >= 4
    assert {writer.name: writer.pool for writer in writers} == {writer.name: "lakehouse" for writer in writers}


@pytest.mark.slow
def test_two_hosts_on_one_postgres_storage_take_turns_on_the_lakehouse_pool(
    tmp_path: Path, monkeypatch, postgres_database: Callable[[str], str]
) -> None:
    """The pool's slot lives in the shared storage: while a step of a run on one host holds it, a
    step of another host's run waits for it, and gets it once the first is done."""
    monkeypatch.setenv("JUMP_DAGSTER_POSTGRES_URL", postgres_database("dagster_pools"))
    host_a, host_b = tmp_path / "host_a", tmp_path / "host_b"
    write_instance(host_a)
    write_instance(host_b)
    with dg.DagsterInstance.from_config(str(host_a)) as instance_a, dg.DagsterInstance.from_config(str(host_b)) as instance_b:
        assert instance_b.get_concurrency_config().pool_config.default_pool_limit == 1
        storage_a, storage_b = instance_a.event_log_storage, instance_b.event_log_storage
        # what Dagster's executor does before a step of a pool that has no limit yet: the default
        # limit, then a claim; host B finds the pool, with its limit, in the shared storage
        storage_a.initialize_concurrency_limit_to_default("lakehouse")
        assert storage_a.claim_concurrency_slot("lakehouse", "run-on-a", "load_sources").is_claimed
        assert "lakehouse" in storage_b.get_concurrency_keys()
        waiting = storage_b.claim_concurrency_slot("lakehouse", "run-on-b", "load_sources")
        assert not waiting.is_claimed
        assert storage_b.get_concurrency_info("lakehouse").slot_count == 1
        storage_a.free_concurrency_slots_for_run("run-on-a")
        assert storage_b.claim_concurrency_slot("lakehouse", "run-on-b", "load_sources").is_claimed
