"""A file is loaded whole or not at all, a SQLite snapshot is what it claims, and a rejected file
says why (issue 18): the delivery protocol, a file written while it is loaded, a partial SQLite
file, the reasons beside rejected files, and the smaller defects found with them."""

from __future__ import annotations

import gzip
import logging
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from jump_platform import settings
from jump_platform.defs.resources import lakehouse_resources
from jump_platform.defs.sources.assets import load_sources
from jump_platform.failed_rows import failed_nodes, offending_rows_by_file
from jump_platform.sources import landing
from jump_platform_tests.test_landing import CLIENT, CONTRACT, GOOD_INVOICE, INVOICES_HEADER, USERS_CSV, drop, read, uid


def _materialize_load() -> dg.ExecuteInProcessResult:
    return dg.materialize([load_sources], resources=lakehouse_resources(), raise_on_error=False)


def _build_query(sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.build_duckdb_path()), read_only=True) as con:
        return con.sql(sql).fetchall()


def _tables_in_build() -> set[str]:
    if not settings.build_duckdb_path().exists():
        return set()
    return {name for (name,) in _build_query("select table_name from information_schema.tables")}


# --- the delivery protocol: a name in progress is never claimed, and is reported once old ----------


def test_names_in_progress_are_never_claimed_nor_taken_for_strays(tmp_path: Path) -> None:
    drop(tmp_path, "app/users.csv.tmp", USERS_CSV)
    drop(tmp_path, "app/.users.csv", USERS_CSV)
    drop(tmp_path, "app/invoices/.2026-12.csv", INVOICES_HEADER)
    drop(tmp_path, "app/invoices/2026-12.csv.tmp", INVOICES_HEADER)

    assert landing.pending_files(tmp_path, settle_seconds=None) == []
    assert landing.stray_entries(tmp_path, settle_seconds=None) == {}


def test_a_name_in_progress_left_for_long_is_reported_not_ignored_forever(tmp_path: Path) -> None:
    old = drop(tmp_path, "app/.users.csv", USERS_CSV)
    fresh = drop(tmp_path, "app/invoices.csv.tmp", INVOICES_HEADER)
    drop(tmp_path, "_archive/b1/app/.users.csv", USERS_CSV)  # the reserved folders are not looked into
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))

    stale = landing.stale_in_progress(tmp_path, older_than=600)

    assert list(stale) == [old] and stale[old] >= 3600
    assert fresh not in stale


def test_a_load_reports_an_old_name_in_progress(data_dir: Path) -> None:
    root = settings.landing_dir()
    old = drop(root, "app/.users.csv", USERS_CSV)
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    drop(root, "app/users.csv", USERS_CSV)

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([load_sources], resources=lakehouse_resources(), instance=instance)

    assert result.success
    warnings = [entry.user_message for entry in instance.all_logs(result.run_id) if entry.level == logging.WARNING]
    assert any("'app/.users.csv': a name in progress" in message for message in warnings)
    assert old.exists()


# --- a file changed while it is loaded refuses its batch --------------------------------------------


def test_a_file_appended_to_after_its_claim_is_found_changed(tmp_path: Path) -> None:
    path = drop(tmp_path, "app/invoices/2026-12.csv", INVOICES_HEADER + GOOD_INVOICE)
    batch_root, [claimed] = landing.claim(tmp_path, [path], "b1")
    assert landing.changed_since_claimed(batch_root) == {}

    with claimed.open("a") as handle:
        handle.write(GOOD_INVOICE.replace(uid(1), uid(2)))

    [(found, reason)] = landing.changed_since_claimed(batch_root).items()
    assert found == claimed
    assert reason.startswith("app/invoices/2026-12.csv: changed while it was being loaded (")
    assert "bytes when claimed" in reason and "temporary name" in reason


def test_a_write_after_a_file_was_archived_is_noticed_by_the_next_load(tmp_path: Path) -> None:
    path = drop(tmp_path, "app/invoices/2026-12.csv", INVOICES_HEADER + GOOD_INVOICE)
    landing.claim(tmp_path, [path], "b1")
    landing.archive_batch(tmp_path, "b1")
    archived = tmp_path / "_archive" / "b1" / "app" / "invoices" / "2026-12.csv"
    assert landing.late_writes(tmp_path) == {}

    with archived.open("a") as handle:
        handle.write(GOOD_INVOICE.replace(uid(1), uid(2)))

    [(found, note)] = landing.late_writes(tmp_path).items()
    assert found == archived and "written to after it was archived" in note
    assert note in archived.with_name("2026-12.csv.error.txt").read_text()
    # Noted once: the next load does not say it again.
    assert landing.late_writes(tmp_path) == {}


_WRITER = textwrap.dedent(
    """
    import os, sys, time
    path, stop, header, row = sys.argv[1:5]
    with open(path, "w") as handle:
        handle.write(header)
        handle.write(row.replace("ROW", "000000000001"))
        handle.flush()
        n = 2
        # Append a valid row every few milliseconds until told to stop, then once more: a writer
        # that does not follow the protocol, holding its file open whatever the load does with it.
        while not os.path.exists(stop):
            handle.write(row.replace("ROW", f"{n:012d}"))
            handle.flush()
            n += 1
            time.sleep(0.005)
        handle.write(row.replace("ROW", f"{n:012d}"))
        handle.flush()
    """
)


@pytest.mark.slow
def test_a_writer_appending_during_the_load_gets_its_batch_refused_and_noticed(data_dir: Path, tmp_path: Path) -> None:
    root = settings.landing_dir()
    path = root / "app" / "invoices" / "2026-12.csv"
    path.parent.mkdir(parents=True)
    stop = tmp_path / "stop"
    row = f"00000000-0000-4000-8000-ROW,{CONTRACT},{CLIENT},JMP00001,1200.50,2024-01-15\n"
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str(stop), INVOICES_HEADER, row])
    try:
        while not path.exists() or path.read_text().count("\n") < 3:
            time.sleep(0.01)

        result = _materialize_load()
    finally:
        stop.touch()
        writer.wait(timeout=30)

    assert not result.success
    [rejected] = list((root / "_rejected").rglob("2026-12.csv"))
    assert landing.CHANGED in rejected.with_name("2026-12.csv.error.txt").read_text()
    assert not list((root / "_archive").rglob("*.csv")) and not list((root / "_batches").rglob("*.csv"))
    # No row of it reaches readers: the build holds none, or its failed audit starts it again.
    assert "app__invoices" not in _tables_in_build() or landing.batches_waiting(root) == []
    # The writer went on appending into _rejected/ after the load: the next load notices and says so.
    noticed = landing.late_writes(root)
    assert rejected in noticed and "written to after it was rejected" in noticed[rejected]


# --- a SQLite delivery is what it claims --------------------------------------------------------------


def test_a_sqlite_snapshot_missing_tables_or_holding_unknown_ones_is_refused_naming_them(data_dir: Path) -> None:
    root = settings.landing_dir()
    root.mkdir(parents=True)
    with sqlite3.connect(root / "app.sqlite") as con:
        con.execute("create table clients (id text, name text)")
        con.execute("insert into clients values (?, 'Acme')", [CLIENT])
        con.execute("create table secrets (password text)")

    result = _materialize_load()

    assert not result.success
    assert "app__clients" not in _tables_in_build()
    [rejected] = list((root / "_rejected").rglob("app.sqlite"))
    reason = rejected.with_name("app.sqlite.error.txt").read_text()
    assert "missing table(s) invoices, job_contracts, users" in reason
    assert "unknown table(s) 'secrets'" in reason


def test_a_sqlite_file_of_unknown_tables_only_does_not_stay_forever(tmp_path: Path) -> None:
    with sqlite3.connect(drop(tmp_path, "crm.sqlite", b"")) as con:
        con.execute("create table notes (text text)")

    [(path, reason)] = landing.incomplete_sqlite_files(tmp_path, settle_seconds=None).items()

    assert path.name == "crm.sqlite"
    assert reason.startswith("missing table(s) customers; unknown table(s) 'notes'")


# --- the smaller items ------------------------------------------------------------------------------


def test_a_gzip_file_named_csv_is_called_gzip_compressed(tmp_path: Path) -> None:
    drop(tmp_path, "app/users.csv", gzip.compress(USERS_CSV.encode()))
    with pytest.raises(landing.ExtractError, match=r"app/users.csv: the file is gzip-compressed; expected a plain-text"):
        landing.check_delivery(landing.deliveries_in(tmp_path, [tmp_path / "app/users.csv"])[0], tmp_path)


def test_upper_case_uuids_are_written_in_lower_case_to_match_their_rows(tmp_path: Path) -> None:
    drop(tmp_path, "app/invoices.csv", INVOICES_HEADER + GOOD_INVOICE.upper().replace("JMP00001", "JMP00001"))
    frame = read(tmp_path, "app/invoices.csv")
    assert frame.select("id", "job_contract_id", "client_id").row(0) == (uid(1), CONTRACT, CLIENT)


def test_a_client_called_null_in_lower_case_is_a_name_and_upper_case_null_is_missing(tmp_path: Path) -> None:
    drop(tmp_path, "app/clients.csv", f"id,name\n{uid(1, 'd')},null\n{uid(2, 'd')},Null\n")
    assert read(tmp_path, "app/clients.csv")["name"].to_list() == ["null", "Null"]

    drop(tmp_path, "app/clients.csv", f"id,name\n{uid(1, 'd')},NULL\n")
    with pytest.raises(landing.ExtractError, match=r"line 2, column name: expected a value \(the column is not nullable\)"):
        read(tmp_path, "app/clients.csv")


# --- where each row came from, and a failed build saying why beside each file -------------------------


def test_each_loaded_row_keeps_its_file_and_line(data_dir: Path) -> None:
    root = settings.landing_dir()
    drop(root, "app/users/2026-01.csv", USERS_CSV)
    pl.read_csv(USERS_CSV.encode(), infer_schema=False).write_parquet(drop(root, "app/users/2026-02.parquet", b""))
    with sqlite3.connect(drop(root, "crm.sqlite", b"")) as con:
        con.execute("create table customers (last_name text, first_name text, email text, satisfaction_score text)")
        con.execute("insert into customers values ('Durand', 'Ana', 'a@b.fr', '9'), ('Martin', 'Léa', 'l@b.fr', null)")

    assert _materialize_load().success

    assert _build_query("select _source_file, _source_line from sources.app__users order by all") == [
        ("app/users/2026-01.csv", 2),
        ("app/users/2026-01.csv", 3),
        ("app/users/2026-02.parquet", 1),
        ("app/users/2026-02.parquet", 2),
    ]
    assert _build_query("select _source_file, _source_line from sources.crm__customers order by all") == [
        ("crm.sqlite#customers", 1),
        ("crm.sqlite#customers", 2),
    ]


def test_a_failed_node_is_named_with_the_database_s_message() -> None:
    run_results = {
        "results": [
            {"unique_id": "model.jump_platform.a", "status": "success", "message": "OK"},
            {
                "unique_id": "model.jump_platform.freelancer_entity_months",
                "status": "error",
                "message": "Runtime Error in model freelancer_entity_months (models/x.sql)\n"
                "  Conversion Error: Casting value 20000000000002966.59 to DECIMAL(18,2) out of range",
            },
            {"unique_id": "test.jump_platform.rule", "status": "fail", "message": "Got 1 result"},
        ]
    }
    assert failed_nodes(run_results, exclude={"test.jump_platform.rule"}) == [
        (
            "model.jump_platform.freelancer_entity_months: Runtime Error in model freelancer_entity_months (models/x.sql) "
            "Conversion Error: Casting value 20000000000002966.59 to DECIMAL(18,2) out of range"
        )
    ]


def test_offending_rows_are_told_per_file_with_their_lines() -> None:
    origins = pl.DataFrame(
        {
            "_batch_id": ["b1", "b1", "b2", "old"],
            "_source_file": ["app/invoices/a.csv", "app/invoices/a.csv", "app/invoices/b.csv", "app/invoices.csv"],
            "_source_line": [3, 7, 2, 9],
            "offending_key": ["k3", "k7", "k2", "k9"],
        }
    )
    assert offending_rows_by_file(origins, ["b1", "b2"], "amount_is_positive") == {
        "b1/app/invoices/a.csv": "rule amount_is_positive: 2 offending row(s) from this file: line 3 (k3), line 7 (k7)",
        "b2/app/invoices/b.csv": "rule amount_is_positive: 1 offending row(s) from this file: line 2 (k2)",
    }


def test_a_rejected_batch_gives_each_file_its_own_offending_rows(tmp_path: Path) -> None:
    a = drop(tmp_path, "app/invoices/a.csv", INVOICES_HEADER + GOOD_INVOICE)
    b = drop(tmp_path, "app/users.csv", USERS_CSV)
    landing.claim(tmp_path, [a, b], "b1")

    landing.reject_batch(tmp_path, "b1", "not published: blocking check x failed", {"app/invoices/a.csv": ["rule x: line 2 (k)"]})

    rejected = tmp_path / "_rejected" / "b1"
    assert (rejected / "app/invoices/a.csv.error.txt").read_text() == (
        "not published: blocking check x failed\n- rule x: line 2 (k)\n"
    )
    assert (rejected / "app/users.csv.error.txt").read_text() == "not published: blocking check x failed\n"


def test_a_file_written_to_after_its_load_and_before_the_publish_is_rejected_not_published(data_dir: Path) -> None:
    from jump_platform.defs.lakehouse.assets import published_lakehouse

    root = settings.landing_dir()
    drop(root, "app/users.csv", USERS_CSV)
    assert _materialize_load().success
    [claimed] = list((root / "_batches").rglob("users.csv"))
    with claimed.open("a") as handle:
        handle.write(f"{uid(3)},Zoé,Petit,zoe.petit@example.fr\n")

    published = dg.materialize([published_lakehouse], resources=lakehouse_resources(), raise_on_error=False)

    assert not published.success
    assert not (settings.data_dir() / "lakehouse" / "current").exists()
    [rejected] = list((root / "_rejected").rglob("users.csv"))
    assert landing.CHANGED in rejected.with_name("users.csv.error.txt").read_text()
    assert landing.batches_waiting(root) == []
