"""Reverse ETL: what a sync sends (pure planning), and the two syncs end to end against real targets.

The CRM is a real PostgreSQL cluster (the session's `postgres_server`, one database per test); finance's
endpoint is a real HTTP server on 127.0.0.1 that can answer 503. The syncs read a copy of the session's
published lakehouse, changed in place to play "a changed mart".
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import psycopg2
import pytest
from polars.testing import assert_frame_equal

from jump_platform.defs.notifications.sensors import notify_on_run_failure
from jump_platform.defs.reverse_etl.assets import (
    CRM_SYNC,
    crm__freelancer_health,
    endpoint_origin,
    finance__monthly_kpis,
    without_password,
)
from jump_platform.local_services.postgres import free_port
from jump_platform.reverse_etl.plan import DELETED, plan_sync
from jump_platform.reverse_etl.targets import HTTP_BATCH_SIZE
from jump_platform.sql import qualified

KEYS = ["last_name", "first_name", "email"]

# --- planning: what a sync sends -------------------------------------------------------------------


def health(*rows: tuple[str, str, float | None]) -> pl.DataFrame:
    """A tiny freelancer_health: (last name, first name, 12-month turnover); email derived."""
    return pl.DataFrame(
        {
            "last_name": [row[0] for row in rows],
            "first_name": [row[1] for row in rows],
            "email": [f"{row[1]}.{row[0]}@x.fr".lower() for row in rows],
            "turnover": [row[2] for row in rows],
        },
        schema_overrides={"turnover": pl.Float64},
    )


def test_the_first_sync_inserts_every_row() -> None:
    plan = plan_sync(health(("A", "a", 1.0), ("B", "b", None)), None, KEYS, "delete")
    assert (plan.inserted, plan.updated, plan.deleted) == (2, 0, 0)
    assert plan.changes[DELETED].to_list() == [False, False]
    assert plan.target.height == 2


def test_a_sync_with_no_change_sends_nothing() -> None:
    mart = health(("A", "a", 1.0), ("B", "b", None))
    first = plan_sync(mart, None, KEYS, "delete")
    second = plan_sync(mart, first.target, KEYS, "delete")
    assert second.is_empty
    assert (second.inserted, second.updated, second.deleted) == (0, 0, 0)


def test_changed_rows_are_updates_new_keys_inserts_and_missing_keys_deletes() -> None:
    before = plan_sync(health(("A", "a", 1.0), ("B", "b", None), ("C", "c", 3.0)), None, KEYS, "delete").target
    plan = plan_sync(health(("A", "a", 1.0), ("B", "b", 2.0), ("D", "d", 4.0)), before, KEYS, "delete")
    assert (plan.inserted, plan.updated, plan.deleted) == (1, 1, 1)
    sent = {row["last_name"]: row for row in plan.changes.to_dicts()}
    assert set(sent) == {"B", "C", "D"}  # A is unchanged: not sent
    assert sent["B"]["turnover"] == 2.0 and not sent["B"][DELETED]
    assert sent["C"][DELETED] is True
    assert plan.target["last_name"].sort().to_list() == ["A", "B", "D"]


def test_flag_mode_keeps_departed_rows_flagged_and_sends_them_once() -> None:
    before = plan_sync(health(("A", "a", 1.0), ("C", "c", 3.0)), None, KEYS, "flag").target
    first = plan_sync(health(("A", "a", 1.0)), before, KEYS, "flag")
    assert (first.inserted, first.updated, first.deleted) == (0, 0, 1)
    # the last values stay, flagged
    assert first.changes.to_dicts() == [
        {"last_name": "C", "first_name": "c", "email": "c.c@x.fr", "turnover": 3.0, DELETED: True}
    ]
    assert first.target.filter(pl.col(DELETED))["last_name"].to_list() == ["C"]
    again = plan_sync(health(("A", "a", 1.0)), first.target, KEYS, "flag")
    assert again.is_empty


def test_a_flagged_row_back_in_the_mart_is_an_update() -> None:
    synced = plan_sync(health(("A", "a", 1.0), ("C", "c", 3.0)), None, KEYS, "flag").target
    flagged = plan_sync(health(("A", "a", 1.0)), synced, KEYS, "flag").target
    plan = plan_sync(health(("A", "a", 1.0), ("C", "c", 3.0)), flagged, KEYS, "flag")
    assert (plan.inserted, plan.updated, plan.deleted) == (0, 1, 0)
    assert plan.changes[DELETED].to_list() == [False]


def test_a_new_mart_column_sends_every_row_again_as_updates() -> None:
    before = plan_sync(health(("A", "a", 1.0), ("B", "b", 2.0)), None, KEYS, "delete").target
    widened = health(("A", "a", 1.0), ("B", "b", 2.0)).with_columns(nps_category=pl.lit("promoter"))
    plan = plan_sync(widened, before, KEYS, "delete")
    assert (plan.inserted, plan.updated, plan.deleted) == (0, 2, 0)


def test_a_key_that_is_not_unique_in_the_mart_is_refused() -> None:
    with pytest.raises(ValueError, match=r"not unique in the mart, e.g. \[\('A', 'a', 'a.a@x.fr'\)\]"):
        plan_sync(health(("A", "a", 1.0), ("A", "a", 2.0)), None, KEYS, "delete")


# --- the syncs as Dagster assets -------------------------------------------------------------------


@pytest.fixture
def published(lakehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the session's published lakehouse, which the syncs read; returns its file."""
    data = tmp_path / "data"
    (data / "lakehouse").mkdir(parents=True)
    database = data / "lakehouse" / "lakehouse.duckdb"
    shutil.copyfile(lakehouse / "lakehouse" / "lakehouse.duckdb", database)
    monkeypatch.setenv("JUMP_DATA_DIR", str(data))
    for name in (
        "JUMP_DUCKDB_PATH",
        "JUMP_CRM_POSTGRES_URL",
        "JUMP_KPI_ENDPOINT_URL",
        "JUMP_SYNC_DELETED",
        "JUMP_NOTIFY_WEBHOOK",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JUMP_SYNC_RETRY_WAIT", "0.01")
    return database


def change_mart(database: Path, *statements: str) -> None:
    """Play a changed mart: run statements on the published copy."""
    with duckdb.connect(str(database)) as con:
        for statement in statements:
            con.execute(statement)


def read_mart(database: Path, table: str) -> pl.DataFrame:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.sql(f"select * from {qualified('marts', table)}").pl()


def sync(asset: dg.AssetsDefinition, instance: dg.DagsterInstance | None = None) -> dg.ExecuteInProcessResult:
    return dg.materialize([asset], instance=instance or dg.DagsterInstance.ephemeral(), raise_on_error=False)


def counts(result: dg.ExecuteInProcessResult) -> dict[str, int]:
    [event] = result.get_asset_materialization_events()
    metadata = {key: value.value for key, value in event.materialization.metadata.items()}
    return {name: metadata[f"rows_{name}"] for name in ("inserted", "updated", "deleted", "failed")}


def test_a_sync_without_a_configured_target_is_skipped(published: Path) -> None:
    for asset in (crm__freelancer_health, finance__monthly_kpis):
        result = sync(asset)
        assert result.success
        assert result.get_asset_materialization_events() == []


def test_make_sync_says_which_sync_did_what_and_why_without_raw_warnings(
    published: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from jump_platform.runner import sync as make_sync

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("JUMP_DATA_DIR", str(published.parents[1]))  # no `make postgres` cluster there
    assert make_sync.main() == 0
    out, err = capfd.readouterr()
    lines = out.splitlines()
    assert lines[0] == "Job `sync`: succeeded"
    crm = "skipped: no CRM database configured (set JUMP_CRM_POSTGRES_URL, or `make postgres` starts a local one)"
    kpi = "skipped: no finance endpoint configured (set JUMP_KPI_ENDPOINT_URL)"
    assert [line.split(maxsplit=1) for line in lines[1:]] == [
        ["reverse_etl/crm__freelancer_health", crm],
        ["reverse_etl/finance__monthly_kpis", kpi],
    ]
    assert "WARNING" not in out + err


def test_passwords_never_reach_the_metadata() -> None:
    assert without_password("postgresql://jump:s%40cret@127.0.0.1:5432/crm") == "postgresql://jump@127.0.0.1:5432/crm"
    assert without_password("https://hooks.example/finance") == "https://hooks.example/finance"


# --- the CRM: a real PostgreSQL ---------------------------------------------------------------------


@pytest.fixture
def crm(postgres_database, monkeypatch: pytest.MonkeyPatch, published: Path) -> str:
    """A fresh database on the session's PostgreSQL server, which the CRM sync targets."""
    url = postgres_database(f"crm_{uuid.uuid4().hex[:12]}")
    monkeypatch.setenv("JUMP_CRM_POSTGRES_URL", url)
    return url


def crm_table(url: str) -> pl.DataFrame:
    with psycopg2.connect(url) as con, con.cursor() as cursor:
        cursor.execute(f"select * from {CRM_SYNC.dataset}.{CRM_SYNC.table}")
        columns = [column.name for column in cursor.description]
        return pl.DataFrame(cursor.fetchall(), schema=columns, orient="row", infer_schema_length=None)


def crm_loads(url: str) -> int:
    with psycopg2.connect(url) as con, con.cursor() as cursor:
        cursor.execute(f"select count(*) from {CRM_SYNC.dataset}._dlt_loads")
        return cursor.fetchone()[0]


def assert_crm_equals(crm_rows: pl.DataFrame, mart: pl.DataFrame) -> None:
    """The CRM holds the mart's rows and values, each column with the mart's type."""
    actual = crm_rows.select(mart.columns).cast(dict(mart.schema))
    assert_frame_equal(actual.sort(KEYS), mart.sort(KEYS), check_exact=True)


@pytest.mark.slow
def test_crm_sync_inserts_updates_and_deletes_until_the_crm_equals_the_mart(crm: str, published: Path) -> None:
    first = sync(crm__freelancer_health)
    assert first.success
    mart = read_mart(published, "freelancer_health")
    assert counts(first) == {"inserted": mart.height, "updated": 0, "deleted": 0, "failed": 0}
    assert_crm_equals(crm_table(crm), mart)
    assert not crm_table(crm)[DELETED].any()

    # the mart changes: 3 freelancers leave, 2 change, 1 arrives
    change_mart(
        published,
        "delete from marts.freelancer_health where user_id in "
        "(select user_id from marts.freelancer_health order by user_id limit 3)",
        "update marts.freelancer_health set turnover_last_12_months = turnover_last_12_months + 1, is_at_risk = not is_at_risk "
        "where user_id in (select user_id from marts.freelancer_health order by user_id desc limit 2)",
        "insert into marts.freelancer_health values ('Zola', 'Émile', 'emile.zola@jump.fr', 'u-new', 'green', 'active', "
        "date '2027-03-31', date '2026-11-02', 1234.56, 'promoter', false, false)",
    )
    second = sync(crm__freelancer_health)
    assert second.success
    assert counts(second) == {"inserted": 1, "updated": 2, "deleted": 3, "failed": 0}
    changed = read_mart(published, "freelancer_health")
    assert_crm_equals(crm_table(crm), changed)

    # nothing changed since: nothing is written, not even a load record
    loads = crm_loads(crm)
    third = sync(crm__freelancer_health)
    assert counts(third) == {"inserted": 0, "updated": 0, "deleted": 0, "failed": 0}
    assert crm_loads(crm) == loads
    assert_crm_equals(crm_table(crm), changed)


@pytest.mark.slow
def test_crm_sync_in_flag_mode_keeps_departed_freelancers_flagged(
    crm: str, published: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUMP_SYNC_DELETED", "flag")
    assert sync(crm__freelancer_health).success
    departed = read_mart(published, "freelancer_health").sort("user_id").head(2)
    change_mart(
        published,
        "delete from marts.freelancer_health where user_id in "
        "(select user_id from marts.freelancer_health order by user_id limit 2)",
    )
    result = sync(crm__freelancer_health)
    assert counts(result) == {"inserted": 0, "updated": 0, "deleted": 2, "failed": 0}
    held = crm_table(crm)
    assert_crm_equals(held.filter(~pl.col(DELETED)), read_mart(published, "freelancer_health"))
    flagged = held.filter(pl.col(DELETED))
    assert_crm_equals(flagged, departed)  # the care team still sees their last values


@pytest.mark.slow
def test_a_failed_crm_sync_fails_its_asset_and_is_notified(published: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUMP_CRM_POSTGRES_URL", f"postgresql://jump:secret@127.0.0.1:{free_port()}/crm")
    monkeypatch.setenv("JUMP_SYNC_ATTEMPTS", "2")
    instance = dg.DagsterInstance.ephemeral()
    job = dg.Definitions(
        assets=[crm__freelancer_health], jobs=[dg.define_asset_job("crm_sync", selection=[crm__freelancer_health])]
    ).resolve_job_def("crm_sync")
    result = job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    metadata = {key: value.value for key, value in failure.step_failure_data.user_failure_data.metadata.items()}
    rows = read_mart(published, "freelancer_health").height
    assert metadata["rows_failed"] == rows and metadata["rows_inserted"] == 0
    assert "secret" not in metadata["target"]

    context = dg.build_run_status_sensor_context(
        sensor_name=notify_on_run_failure.name,
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
    ).for_run_failure()
    notify_on_run_failure(context)
    [line] = (published.parents[1] / "notifications.log").read_text().splitlines()
    notification = json.loads(line)
    assert notification["status"] == "FAILURE"
    [step] = notification["failed_steps"]
    assert step["step_key"] == "reverse_etl__crm__freelancer_health"
    assert "Sync crm__freelancer_health to postgresql://jump@127.0.0.1" in step["error"]


# --- finance's endpoint: a real HTTP server -------------------------------------------------------------


@dataclass
class Receiver:
    """An HTTP batch endpoint on 127.0.0.1 that records what it accepted and can answer 503."""

    url: str = ""
    accepted: list[dict] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    requests: int = 0
    fail_next: int = 0
    """Answer 503 to this many requests, then accept again."""
    accept_only: int | None = None
    """Accept this many batches in all, then answer 503 to everything."""
    answer: int | None = None
    """Answer this status to every request, accepting nothing."""

    @property
    def rows(self) -> list[dict]:
        return [row for batch in self.accepted for row in batch["rows"]]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                state.requests += 1
                refuse = state.fail_next > 0 or (state.accept_only is not None and len(state.accepted) >= state.accept_only)
                if refuse:
                    state.fail_next = max(state.fail_next - 1, 0)
                elif state.answer is None:
                    state.accepted.append(json.loads(body))
                    state.keys.append(self.headers["Idempotency-Key"])
            self.send_response(503 if refuse else state.answer or 200)
            if state.answer in (301, 302, 307, 308):
                self.send_header("Location", "http://127.0.0.1:9/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/kpis"
    yield state
    server.shutdown()
    thread.join()


@pytest.fixture
def finance(receiver: Receiver, published: Path, monkeypatch: pytest.MonkeyPatch) -> Receiver:
    monkeypatch.setenv("JUMP_KPI_ENDPOINT_URL", receiver.url)
    return receiver


def kpi_rows(database: Path) -> list[dict]:
    """The mart's rows as the endpoint receives them: JSON types, sorted by month and entity."""
    mart = read_mart(database, "kpi__monthly_turnover_by_entity")
    rows = [
        {
            key: (value.isoformat() if isinstance(value, dt.date) else float(value) if isinstance(value, Decimal) else value)
            for key, value in row.items()
        }
        | {DELETED: False}
        for row in mart.to_dicts()
    ]
    return sorted(rows, key=lambda row: (row["month"], row["entity"]))


def by_key(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda row: (row["month"], row["entity"]))


def test_kpi_sync_posts_each_batch_once_even_when_the_first_attempt_gets_a_503(finance: Receiver, published: Path) -> None:
    finance.fail_next = 1
    result = sync(finance__monthly_kpis)
    assert result.success
    expected = kpi_rows(published)
    assert counts(result) == {"inserted": len(expected), "updated": 0, "deleted": 0, "failed": 0}
    batches = -(-len(expected) // HTTP_BATCH_SIZE)
    assert batches > 1
    assert len(finance.accepted) == batches and finance.requests == batches + 1  # one 503, retried
    assert len(set(finance.keys)) == batches  # no batch accepted twice
    assert by_key(finance.rows) == expected
    assert {batch["sync"] for batch in finance.accepted} == {"finance__monthly_kpis"}
    assert {batch["table"] for batch in finance.accepted} == {"kpi__monthly_turnover_by_entity"}

    again = sync(finance__monthly_kpis)
    assert counts(again) == {"inserted": 0, "updated": 0, "deleted": 0, "failed": 0}
    assert len(finance.accepted) == batches  # nothing changed, nothing sent


def test_kpi_sync_sends_only_the_months_that_changed(finance: Receiver, published: Path) -> None:
    assert sync(finance__monthly_kpis).success
    sent = len(finance.rows)
    change_mart(
        published,
        "update marts.kpi__monthly_turnover_by_entity set turnover = turnover + 10 "
        "where month = (select max(month) from marts.kpi__monthly_turnover_by_entity) and entity = 'blue'",
        "delete from marts.kpi__monthly_turnover_by_entity "
        "where month = (select min(month) from marts.kpi__monthly_turnover_by_entity)",
    )
    result = sync(finance__monthly_kpis)
    assert counts(result) == {"inserted": 0, "updated": 1, "deleted": 2, "failed": 0}
    latest = finance.rows[sent:]
    assert len(latest) == 3
    assert sorted((row["entity"], row[DELETED]) for row in latest) == [("blue", False), ("blue", True), ("green", True)]


def test_kpi_sync_sends_a_month_after_the_as_of_month_with_unknown_active_freelancers(finance: Receiver, published: Path) -> None:
    # as kpi__monthly_turnover_by_entity gives it when invoices are dated after the as-of date
    change_mart(
        published,
        "insert into marts.kpi__monthly_turnover_by_entity by name "
        "select max(month) + interval 1 month as month, 'blue' as entity, 500.00 as turnover, 1 as invoice_count, "
        "null as active_freelancers, 1 as invoicing_freelancers, 0 as previous_month_turnover, "
        "null as turnover_change_pct, 500.00 as scheduled_turnover from marts.kpi__monthly_turnover_by_entity",
    )
    assert sync(finance__monthly_kpis).success
    assert by_key(finance.rows) == kpi_rows(published)
    [after] = [row for row in finance.rows if row["active_freelancers"] is None]
    assert (after["turnover"], after["scheduled_turnover"]) == (500.0, 500.0)


def test_a_kpi_sync_that_fails_midway_resumes_without_posting_a_batch_twice(
    finance: Receiver, published: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUMP_SYNC_ATTEMPTS", "2")
    finance.accept_only = 1  # the endpoint goes down after the first batch
    failed = sync(finance__monthly_kpis)
    assert not failed.success
    expected = kpi_rows(published)
    [failure] = [event for event in failed.all_events if event.is_step_failure]
    metadata = {key: value.value for key, value in failure.step_failure_data.user_failure_data.metadata.items()}
    assert metadata["rows_failed"] == len(expected)
    assert len(finance.accepted) == 1

    finance.accept_only = None  # the endpoint is back
    resumed = sync(finance__monthly_kpis)
    assert resumed.success
    assert counts(resumed) == {"inserted": len(expected), "updated": 0, "deleted": 0, "failed": 0}
    assert len(set(finance.keys)) == len(finance.keys)  # no batch posted twice
    assert by_key(finance.rows) == expected  # every row once


@pytest.mark.parametrize("answer", [400, 307])
def test_a_kpi_batch_refused_for_good_fails_the_sync_and_is_planned_again_next_time(
    finance: Receiver, published: Path, answer: int
) -> None:
    finance.answer = answer  # a bad request, or a redirect that is not followed
    failed = sync(finance__monthly_kpis)
    assert not failed.success
    assert finance.requests == 1  # refused for good: not retried
    assert finance.accepted == []

    finance.answer = None
    again = sync(finance__monthly_kpis)
    expected = kpi_rows(published)
    assert counts(again) == {"inserted": len(expected), "updated": 0, "deleted": 0, "failed": 0}
    assert by_key(finance.rows) == expected


def test_a_kpi_endpoint_in_clear_over_the_network_is_refused(published: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUMP_KPI_ENDPOINT_URL", "http://finance.example/hooks/secret-token")
    result = sync(finance__monthly_kpis)
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    message = failure.step_failure_data.user_failure_data.description
    assert message.startswith("JUMP_KPI_ENDPOINT_URL must be https://")
    assert "secret-token" not in message


def test_only_the_origin_of_an_endpoint_reaches_the_metadata() -> None:
    assert endpoint_origin("https://hooks.example:8443/services/T0/B0/secret?x=1") == "https://hooks.example:8443"
