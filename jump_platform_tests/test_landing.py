"""Extracts are validated against their contract; a bad file is refused with a clear error,
ends in `_rejected/` with its reason, and the previous table survives."""

import dataclasses
import os
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from jump_platform import settings
from jump_platform.defs.resources import lakehouse_resources
from jump_platform.defs.sources.assets import load_sources
from jump_platform.sources import landing

USERS_CSV = (
    "id,first_name,last_name,email\n"
    "6f1c0f4e-0000-4000-8000-000000000001,Ana,Durand,ana.durand@example.fr\n"
    "6f1c0f4e-0000-4000-8000-000000000002,Léa,Martin,lea.martin@example.fr\n"
)
INVOICES_HEADER = "id,job_contract_id,client_id,reference,amount,issue_date\n"


def uid(n: int, prefix: str = "0") -> str:
    """A readable UUID: `uid(3, "c")` is `c0000000-0000-4000-8000-000000000003`."""
    return f"{prefix}0000000-0000-4000-8000-{n:012d}"


CONTRACT, CLIENT = uid(1, "c"), uid(1, "d")
GOOD_INVOICE = f"{uid(1)},{CONTRACT},{CLIENT},JMP00001,1200.50,2024-01-15\n"


def drop(root: Path, relative: str, content: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def delivery(root: Path, relative: str) -> landing.Delivery:
    [found] = landing.deliveries_in(root, [root / relative])
    return found


def read(root: Path, relative: str) -> pl.DataFrame:
    return landing.read_delivery(delivery(root, relative), root)


def test_a_previous_platform_csv_loads_as_it_is(tmp_path: Path) -> None:
    drop(tmp_path, "app/users.csv", USERS_CSV)
    checked = landing.check_delivery(delivery(tmp_path, "app/users.csv"), tmp_path)
    assert (checked.rows, checked.extra_columns) == (2, ())
    assert read(tmp_path, "app/users.csv")["first_name"].to_list() == ["Ana", "Léa"]


def test_values_are_typed_by_the_contract(tmp_path: Path) -> None:
    drop(tmp_path, "app/invoices.csv", INVOICES_HEADER + GOOD_INVOICE + f"{uid(2)},{CONTRACT},{CLIENT},JMP00002,99,2024-02-01\n")
    frame = read(tmp_path, "app/invoices.csv")
    assert frame.schema["amount"] == pl.Decimal(18, 2)
    assert frame.schema["issue_date"] == pl.Date
    assert [str(v) for v in frame["amount"]] == ["1200.50", "99.00"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(
            "id,job_contract_id,client_id,reference,issue_date\ni1,c1,k1,JMP00001,2024-01-15\n",
            "app/invoices.csv: missing column(s) amount (decimal(18,2)); found columns: id, job_contract_id",
            id="missing column",
        ),
        pytest.param(
            INVOICES_HEADER + GOOD_INVOICE + f"{uid(2)},{CONTRACT},{CLIENT},JMP00002,10.00,2024-02-30\n",
            "app/invoices.csv: line 3, column issue_date: expected a date formatted YYYY-MM-DD, found '2024-02-30'",
            id="bad date",
        ),
        pytest.param(
            INVOICES_HEADER + GOOD_INVOICE + f"{uid(2)},{CONTRACT},{CLIENT},JMP00002,12 euros,2024-02-01\n",
            "app/invoices.csv: line 3, column amount: expected a decimal number with at most 2 decimals",
            id="bad number",
        ),
        pytest.param("", "app/invoices.csv: the file is empty; expected a header line with id, job_contract_id", id="empty"),
        pytest.param(
            INVOICES_HEADER,
            "app/invoices.csv: the file has a header but no rows; refusing to replace the table",
            id="header only",
        ),
        pytest.param(
            INVOICES_HEADER.replace(",", ";") + GOOD_INVOICE.replace(",", ";"),
            "the header seems separated by semicolons, expected commas",
            id="wrong delimiter",
        ),
        pytest.param(
            INVOICES_HEADER + GOOD_INVOICE + f"{uid(2)},NULL,{CLIENT},JMP00002,10.00,2024-02-01\n",
            "app/invoices.csv: line 3, column job_contract_id: expected a value (the column is not nullable), found 'NULL'",
            id="literal NULL in a non-null column",
        ),
        pytest.param(
            INVOICES_HEADER + GOOD_INVOICE + "\n" + f"{uid(2)},{CONTRACT},{CLIENT},JMP00002,10.00,2024-02-01\n",
            "app/invoices.csv: line 3: an empty line; expected values for id, job_contract_id, client_id, reference, "
            "amount, issue_date (remove empty lines)",
            id="blank line",
        ),
        pytest.param(
            INVOICES_HEADER + GOOD_INVOICE + f"{uid(2)},{CONTRACT},{CLIENT},JMP00002,10.00,\n",
            "app/invoices.csv: line 3, column issue_date: expected a value (the column is not nullable), found an empty value",
            id="empty issue_date",
        ),
        pytest.param(
            INVOICES_HEADER + GOOD_INVOICE + f"inv-2,{CONTRACT},{CLIENT},JMP00002,10.00,2024-02-01\n",
            "app/invoices.csv: line 3, column id: expected a UUID like 6f1c0f4e-0000-4000-8000-000000000001, found 'inv-2'",
            id="id not a UUID",
        ),
        pytest.param(
            INVOICES_HEADER + GOOD_INVOICE + f"{uid(2)},{CONTRACT},{CLIENT},JMP00002,10.00,{'9' * 5000}\n",
            "app/invoices.csv: line 3, column issue_date: expected a date formatted YYYY-MM-DD, found '" + "9" * 36 + "...",
            id="a long bad value is cut",
        ),
        pytest.param(
            INVOICES_HEADER + GOOD_INVOICE + f"{uid(2)},{CONTRACT},{CLIENT},JMP00002,10.005,2024-02-01\n",
            "app/invoices.csv: line 3, column amount: expected a decimal number with at most 2 decimals, like 1234.50, "
            "found '10.005'",
            id="a third decimal, which a cast would round away",
        ),
        pytest.param(
            INVOICES_HEADER + GOOD_INVOICE + f"{uid(2)},{CONTRACT},{CLIENT},JMP00002,10.00,2024-02-01,extra\n",
            "app/invoices.csv: line 3: more values than the 6 columns of the header",
            id="more values than columns",
        ),
        pytest.param(
            INVOICES_HEADER + GOOD_INVOICE + f"{uid(2)},{CONTRACT},{CLIENT}\n",
            "app/invoices.csv: line 3, column reference: expected a value (the column is not nullable), found an empty value",
            id="fewer values than columns",
        ),
        pytest.param(
            (INVOICES_HEADER + GOOD_INVOICE).encode()
            + f"{uid(2)},{CONTRACT},{CLIENT},".encode()
            + b"JMP00002,1.00,2024-02-01,\xe9t\xe9\n",
            "app/invoices.csv: line 3: invalid UTF-8 byte b'\\xe9'; expected a UTF-8 encoded file",
            id="invalid utf-8",
        ),
    ],
)
def test_a_malformed_file_is_refused_naming_the_file_and_the_problem(tmp_path: Path, content: str | bytes, expected: str) -> None:
    drop(tmp_path, "app/invoices.csv", content)
    with pytest.raises(landing.ExtractError) as error:
        landing.check_delivery(delivery(tmp_path, "app/invoices.csv"), tmp_path)
    assert expected in str(error.value)


def test_an_unexpected_column_is_refused_naming_it_and_the_expected_columns(tmp_path: Path) -> None:
    drop(tmp_path, "app/users.csv", USERS_CSV.replace("email\n", "email,phone\n").replace(".fr\n", ".fr,0600\n"))
    with pytest.raises(landing.ExtractError) as error:
        landing.check_delivery(delivery(tmp_path, "app/users.csv"), tmp_path)
    assert str(error.value) == (
        "app/users.csv: unexpected column(s) phone; expected exactly id, first_name, last_name, email "
        "(a delivery never changes a table's columns)"
    )


def test_a_contract_that_allows_extra_columns_keeps_them(tmp_path: Path) -> None:
    drop(tmp_path, "app/users.csv", USERS_CSV.replace("email\n", "email,phone\n").replace(".fr\n", ".fr,0600\n"))
    found = delivery(tmp_path, "app/users.csv")
    lenient = dataclasses.replace(found, contract=dataclasses.replace(found.contract, allow_extra_columns=True))
    assert landing.check_delivery(lenient, tmp_path).extra_columns == ("phone",)
    assert landing.read_delivery(lenient, tmp_path)["phone"].to_list() == ["0600", "0600"]


def test_a_duplicated_column_is_refused(tmp_path: Path) -> None:
    drop(tmp_path, "app/users.csv", USERS_CSV.replace("email\n", "email,email\n").replace(".fr\n", ".fr,x@y.fr\n"))
    with pytest.raises(landing.ExtractError, match=r"app/users.csv: duplicated column\(s\) email; expected each column once"):
        landing.check_delivery(delivery(tmp_path, "app/users.csv"), tmp_path)


def test_parquet_and_sqlite_extracts_are_read_like_csv(tmp_path: Path) -> None:
    import sqlite3

    users = pl.read_csv(USERS_CSV.encode(), infer_schema=False)
    users.write_parquet(drop(tmp_path, "app/users.parquet", b""))
    with sqlite3.connect(tmp_path / "app.sqlite") as con:
        con.execute("create table clients (id text, name text)")
        con.execute("insert into clients values (?, 'Acme'), (?, 'Acme')", [uid(1, "d"), uid(2, "d")])
    deliveries = landing.deliveries_in(tmp_path, landing.pending_files(tmp_path, settle_seconds=None))
    labels = sorted(d.label(tmp_path) for d in deliveries)
    assert labels == ["app.sqlite#clients", "app/users.parquet"]
    frames = {d.contract.table: landing.read_delivery(d, tmp_path) for d in deliveries}
    assert frames["app__clients"]["name"].to_list() == ["Acme", "Acme"]
    assert frames["app__users"].equals(users)


def _materialize_load() -> dg.ExecuteInProcessResult:
    """`load_sources` alone: it loads into the build, and its files wait in `_batches/` for a publish."""
    return dg.materialize([load_sources], resources=lakehouse_resources(), raise_on_error=False)


def _build_query(sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.build_duckdb_path()), read_only=True) as con:
        return con.sql(sql).fetchall()


def test_a_refused_file_is_rejected_with_its_reason_and_the_previous_table_survives(data_dir: Path) -> None:
    root = settings.landing_dir()
    drop(root, "app/users.csv", USERS_CSV)
    assert _materialize_load().success
    [waiting] = list((root / "_batches").rglob("users.csv"))

    drop(root, "app/users.csv", "id,first_name,last_name\nx,y,z\n")
    result = _materialize_load()
    assert not result.success
    [rejected] = list((root / "_rejected").rglob("users.csv"))
    reason = rejected.with_name("users.csv.error.txt").read_text()
    assert "missing column(s) email (varchar)" in reason
    assert _build_query("select count(*) from sources.app__users") == [(2,)]
    # The earlier batch still waits for its publish, untouched by the refused one.
    assert waiting.exists()


def test_a_delivery_with_one_refused_file_changes_no_table_and_rejects_every_file_with_its_reason(
    data_dir: Path,
) -> None:
    root = settings.landing_dir()
    drop(root, "app/users.csv", USERS_CSV)
    assert _materialize_load().success
    before = _build_query("select * from sources.app__users order by id")

    drop(root, "app/users.csv", USERS_CSV.replace("Ana", "Anna"))
    drop(root, "app/clients.csv", f"id,name\n{CLIENT},Acme\n")
    drop(root, "app/invoices.csv", INVOICES_HEADER + GOOD_INVOICE.replace("1200.50", "12 euros"))
    result = _materialize_load()

    assert not result.success
    assert result.get_asset_materialization_events() == []
    assert _build_query("select * from sources.app__users order by id") == before
    tables = {name for (name,) in _build_query("select table_name from information_schema.tables")}
    assert tables == {"app__users"}
    [batch] = list((root / "_rejected").iterdir())
    reasons = {
        p.relative_to(batch).as_posix().removesuffix(".error.txt"): p.read_text().strip() for p in batch.rglob("*.error.txt")
    }
    assert reasons["app/invoices.csv"].startswith("app/invoices.csv: line 2, column amount: expected a decimal")
    assert reasons["app/users.csv"] == "not loaded: app/invoices.csv was refused"
    assert reasons["app/clients.csv"] == "not loaded: app/invoices.csv was refused"
    assert {p.name for p in batch.rglob("*.csv")} == {"users.csv", "clients.csv", "invoices.csv"}
    assert not [p for p in root.rglob("*.csv") if p.parts[len(root.parts)] in ("app", "crm")]


def test_the_whole_batch_is_refused_in_one_pure_decision() -> None:
    labels = {Path("a"): "app/users.csv", Path("b"): "app/clients.csv", Path("c"): "crm/customers.csv"}
    errors = {Path("b"): "app/clients.csv: bad", Path("c"): "crm/customers.csv: bad"}
    assert landing.refuse_whole_batch(labels, errors) == {
        Path("a"): "not loaded: app/clients.csv, crm/customers.csv were refused",
        **errors,
    }


def test_a_load_records_where_each_row_comes_from(data_dir: Path) -> None:
    drop(settings.landing_dir(), "app/users.csv", USERS_CSV)
    result = _materialize_load()
    assert result.success
    [(batch, source)] = _build_query("select distinct _batch_id, _source_file from sources.app__users")
    assert source == "app/users.csv"
    assert (settings.landing_dir() / "_batches" / batch / "app" / "users.csv").exists()


def test_increments_are_appended_and_a_snapshot_replaces(data_dir: Path) -> None:
    root = settings.landing_dir()
    drop(root, "app/users/2026-01.csv", USERS_CSV)
    drop(root, "app/users/2026-02.csv", USERS_CSV.replace("Ana", "Anna"))
    assert _materialize_load().success
    drop(root, "app/users/2026-03.csv", USERS_CSV)
    assert _materialize_load().success
    assert _build_query("select count(*) from sources.app__users") == [(6,)]
    drop(root, "app/users.csv", USERS_CSV)
    assert _materialize_load().success
    assert _build_query("select count(*) from sources.app__users") == [(2,)]


def test_a_bad_value_far_into_a_large_file_is_named_by_its_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(landing, "BATCH_ROWS", 10)
    rows = "".join(f"{uid(n)},{CONTRACT},{CLIENT},JMP{n:05d},10.00,2024-01-15\n" for n in range(1, 36))
    drop(tmp_path, "app/invoices.csv", INVOICES_HEADER + rows + f"{uid(36)},{CONTRACT},{CLIENT},JMP00036,10.00,15/01/2024\n")
    with pytest.raises(landing.ExtractError, match=r"line 37, column issue_date: .* found '15/01/2024'"):
        landing.check_delivery(delivery(tmp_path, "app/invoices.csv"), tmp_path)


def test_nothing_waiting_means_nothing_written(data_dir: Path) -> None:
    result = _materialize_load()
    assert result.success
    assert result.get_asset_materialization_events() == []


def test_a_write_that_fails_publishes_nothing_and_rejects_the_batch_with_the_reason(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jump_platform import io_manager

    root = settings.landing_dir()
    drop(root, "app/clients.csv", f"id,name\n{CLIENT},Acme\n")
    drop(root, "app/users.csv", USERS_CSV)
    original = io_manager.write_parts

    def fail_on_users(connection, schema, table, parts, replace):
        if table == "app__users":
            raise OSError("disk full")
        return original(connection, schema, table, parts, replace)

    monkeypatch.setattr(io_manager, "write_parts", fail_on_users)
    assert not _materialize_load().success
    # The build holds half a batch: it failed its audit, and every file of the batch is rejected.
    assert {p.name for p in (root / "_rejected").rglob("*.csv")} == {"clients.csv", "users.csv"}
    for reason in (root / "_rejected").rglob("*.error.txt"):
        assert reason.read_text().startswith("not published: step load_sources failed"), reason.read_text()
        assert "disk full" in reason.read_text()
    assert not (root / "_batches").exists() and not (root / "_archive").exists()
    assert not settings.duckdb_path().exists()

    # The next run starts from the published lakehouse (none yet): the half batch is gone.
    monkeypatch.setattr(io_manager, "write_parts", original)
    drop(root, "app/users.csv", USERS_CSV)
    assert _materialize_load().success
    tables = {name for (name,) in _build_query("select table_name from information_schema.tables")}
    assert "app__clients" not in tables and "app__users" in tables


def test_a_quoted_value_spanning_lines_is_kept_and_not_taken_for_an_empty_line(tmp_path: Path) -> None:
    drop(tmp_path, "app/clients.csv", f'id,name\n{uid(1, "d")},"Acme\n\nand Sons"\n{uid(2, "d")},Globex\n')
    assert read(tmp_path, "app/clients.csv")["name"].to_list() == ["Acme\n\nand Sons", "Globex"]


def test_a_bad_value_is_quoted_short_and_escaped(tmp_path: Path) -> None:
    hostile = '"' + "x\r\nFAKE LOG LINE " * 500 + '"'
    drop(tmp_path, "app/users.csv", f"id,first_name,last_name,email\n{hostile},Ana,Durand,a@x.fr\n")
    with pytest.raises(landing.ExtractError) as error:
        landing.check_delivery(delivery(tmp_path, "app/users.csv"), tmp_path)
    message = str(error.value)
    assert message.startswith("app/users.csv: line 2, column id: expected a UUID")
    assert "\n" not in message and "\r" not in message and len(message) < 200


# --- SQLite ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "found"),
    [(42, "found an integer 42"), (4.5, "found a floating-point number 4.5"), (b"\x00", "found a blob")],
    ids=["integer", "float", "blob"],
)
def test_a_sqlite_id_that_is_not_text_is_refused_not_turned_into_null(tmp_path: Path, value: object, found: str) -> None:
    import sqlite3

    with sqlite3.connect(tmp_path / "app.sqlite") as con:
        con.execute("create table clients (id, name text)")
        con.execute("insert into clients values (?, 'Acme'), (?, 'Globex')", [uid(1, "d"), value])
    with pytest.raises(landing.ExtractError) as error:
        landing.check_delivery(delivery(tmp_path, "app.sqlite"), tmp_path)
    assert str(error.value).startswith(f"app.sqlite#clients: row 2, column id: expected text (SQLite TEXT), {found}")


def test_sqlite_numbers_are_read_as_sqlite_writes_them(tmp_path: Path) -> None:
    import sqlite3

    with sqlite3.connect(tmp_path / "app.sqlite") as con:
        con.execute(
            "create table invoices (id text, job_contract_id text, client_id text, reference text, amount, issue_date text)"
        )
        con.execute(
            "insert into invoices values (?, ?, ?, 'JMP00001', 1200.5, '2024-01-15'), (?, ?, ?, 'JMP00002', 99, '2024-01-16')",
            [uid(1), CONTRACT, CLIENT, uid(2), CONTRACT, CLIENT],
        )
    frame = read(tmp_path, "app.sqlite")
    assert [str(v) for v in frame["amount"]] == ["1200.50", "99.00"]


# --- strays, symlinks and hostile names, through a real load ---------------------------------


def _backdate(path: Path, seconds: float = 10.0) -> None:
    """Make an entry look settled (strays modified in the last seconds wait for the next load)."""
    stamp = path.lstat().st_mtime - seconds
    os.utime(path, (stamp, stamp), follow_symlinks=False)


def _lakehouse_state() -> dict[str, object]:
    """Every table of the build (where loads write) with its columns and row count."""
    with duckdb.connect(str(settings.build_duckdb_path()), read_only=True) as con:
        tables = con.sql("select schema_name, table_name from duckdb_tables() order by all").fetchall()
        return {
            f"{schema}.{table}": (
                [row[0] for row in con.execute(f'describe "{schema}"."{table}"').fetchall()],
                con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0],
            )
            for schema, table in tables
        }


@pytest.fixture
def loaded_lakehouse(data_dir: Path) -> dict[str, object]:
    """A lakehouse holding users, and a `marts.fct_invoices` an attacker would like to drop."""
    drop(settings.landing_dir(), "app/users.csv", USERS_CSV)
    assert _materialize_load().success
    with duckdb.connect(str(settings.build_duckdb_path())) as con:
        con.execute("create schema marts; create table marts.fct_invoices as select 1 as invoice_key")
    return _lakehouse_state()


def _failure_text(result: dg.ExecuteInProcessResult) -> str:
    """The step's error and the reasons it lists in its metadata."""
    [failure] = [event for event in result.all_events if event.is_step_failure]
    data = failure.step_failure_data
    return f"{data.error.message}\n{data.user_failure_data.metadata['errors'].value}"


# The reproduction of issue 13, then variants: each tries to close the quoted identifier.
HOSTILE_HEADERS = [
    'x" varchar; commit; drop table marts.fct_invoices; begin; --',
    "x'; drop table marts.fct_invoices; --",
    "x\"\n; copy sources.app__users to '/tmp/stolen.csv'; --",
    "email; drop table marts.fct_invoices",
]


@pytest.mark.parametrize("column", HOSTILE_HEADERS)
def test_a_hostile_column_name_is_refused_and_no_sql_runs(
    loaded_lakehouse: dict[str, object], tmp_path: Path, column: str
) -> None:
    root = settings.landing_dir()
    header = INVOICES_HEADER.rstrip("\n") + "," + '"' + column.replace('"', '""') + '"\n'
    drop(root, "app/invoices/2026-11.csv", header + GOOD_INVOICE.rstrip("\n") + ",1\n")
    result = _materialize_load()
    assert not result.success
    assert "unexpected column(s)" in _failure_text(result)
    [rejected] = list((root / "_rejected").rglob("2026-11.csv"))
    assert "expected exactly id, job_contract_id" in rejected.with_name("2026-11.csv.error.txt").read_text()
    assert _lakehouse_state() == loaded_lakehouse
    assert not Path("/tmp/stolen.csv").exists()


HOSTILE_FILE_NAMES = ['x" ; drop table marts.fct_invoices; --', "a'; select 1; --", "line\nbreak", "semi;colon"]


@pytest.mark.parametrize("name", HOSTILE_FILE_NAMES)
def test_a_hostile_file_name_is_only_data(loaded_lakehouse: dict[str, object], name: str) -> None:
    """An increment's name is free: it is stored as `_source_file`, a value, and runs nothing."""
    root = settings.landing_dir()
    drop(root, f"app/users/{name}.csv", USERS_CSV)
    assert _materialize_load().success
    with duckdb.connect(str(settings.build_duckdb_path()), read_only=True) as con:
        sources = con.sql("select distinct _source_file from sources.app__users order by all").fetchall()
    assert sources == [("app/users.csv",), (f"app/users/{name}.csv",)]
    state = _lakehouse_state()
    assert state["marts.fct_invoices"] == loaded_lakehouse["marts.fct_invoices"]
    assert state["sources.app__users"] == (loaded_lakehouse["sources.app__users"][0], 4)


def test_hostile_sqlite_table_names_are_never_put_in_sql(loaded_lakehouse: dict[str, object]) -> None:
    import sqlite3

    root = settings.landing_dir()
    hostile = ['clients"; drop table clients; --', "clients'; drop table clients; --", "x\n; delete from clients"]
    with sqlite3.connect(root / "app.sqlite") as con:
        con.execute("create table clients (id text, name text)")
        con.execute("insert into clients values (?, 'Acme')", [CLIENT])
        for name in hostile:
            con.execute(f'create table "{name.replace(chr(34), chr(34) * 2)}" (id text)')
    # Unknown tables refuse the file (a SQLite snapshot holds exactly its system's tables), their
    # names shown escaped in the reason, never run.
    assert not _materialize_load().success
    [rejected] = list((root / "_rejected").rglob("app.sqlite"))
    with sqlite3.connect(rejected) as con:
        names = {row[0] for row in con.execute("select name from sqlite_master where type = 'table'")}
        assert con.execute("select count(*) from clients").fetchone() == (1,)
    assert names == {"clients", *hostile}
    reason = rejected.with_name("app.sqlite.error.txt").read_text()
    assert "unknown table(s)" in reason and "\n; delete" not in reason
    assert _lakehouse_state() == loaded_lakehouse


def test_a_symlink_to_outside_is_refused_and_its_target_never_read(data_dir: Path, tmp_path: Path) -> None:
    root = settings.landing_dir()
    secret = tmp_path / "secret.csv"
    secret.write_text("id,first_name,last_name,email\nTOP-SECRET-LINE,x,y,z\n")
    (root / "app").mkdir(parents=True)
    (root / "app" / "users.csv").symlink_to(secret)
    (root / "crm").symlink_to(tmp_path, target_is_directory=True)  # a whole folder, linked
    _backdate(root / "app" / "users.csv")
    _backdate(root / "crm")
    assert landing.pending_files(root, settle_seconds=None) == []
    result = _materialize_load()
    assert not result.success
    rejected = root / "_rejected"
    [link] = list(rejected.rglob("users.csv"))
    assert link.is_symlink()  # moved as a link, not copied
    reasons = [p.read_text() for p in rejected.rglob("*.error.txt")]
    assert len(reasons) == 2 and all("symbolic link" in reason for reason in reasons)
    logs = "\n".join(str(event) for event in result.all_events)
    assert "TOP-SECRET" not in "".join(reasons) + logs + _failure_text(result)
    assert secret.read_text().startswith("id,")  # the target is untouched


def test_unknown_files_and_a_directory_named_like_a_file_are_rejected_and_fail_the_run(data_dir: Path) -> None:
    root = settings.landing_dir()
    drop(root, "app/users.csv", USERS_CSV)
    strays = [drop(root, "app/foo.csv", "a,b\n1,2\n"), drop(root, "notes.txt", "hello"), drop(root, "app/users/2026-01.txt", "x")]
    (root / "app" / "invoices.csv").mkdir()
    drop(root, "app/invoices.csv/part-0.csv", INVOICES_HEADER + GOOD_INVOICE)
    strays.append(root / "app" / "invoices.csv")
    drop(root, ".hidden-copy-in-flight", "x")
    for path in strays:
        _backdate(path)
    result = _materialize_load()
    assert not result.success
    failure = _failure_text(result)
    assert "4 file(s) refused and moved to _rejected/" in failure
    batch = next((root / "_rejected").iterdir())
    reasons = {
        path.relative_to(batch).as_posix().removesuffix(".error.txt"): path.read_text() for path in batch.rglob("*.error.txt")
    }
    assert set(reasons) == {"app/foo.csv", "notes.txt", "app/users/2026-01.txt", "app/invoices.csv", "app/users.csv"}
    assert "the table one of clients, invoices, job_contracts, users" in reasons["app/foo.csv"]
    assert reasons["app/invoices.csv"].startswith("a directory; expected the file app/invoices.csv")
    assert (batch / "app" / "invoices.csv" / "part-0.csv").is_file()
    # The batch lands whole or not at all: the good file was refused with them; the hidden one is left alone.
    assert reasons["app/users.csv"].startswith(
        "not loaded: 'app/foo.csv', 'app/invoices.csv', 'app/users/2026-01.txt', 'notes.txt' were refused"
    )
    assert not settings.build_duckdb_path().exists() or "sources.app__users" not in _lakehouse_state()
    assert (root / ".hidden-copy-in-flight").exists()


def test_a_stray_alone_fails_the_run_too(data_dir: Path) -> None:
    _backdate(drop(settings.landing_dir(), "app/foo.csv", "a\n1\n"))
    result = _materialize_load()
    assert not result.success
    assert "1 file(s) refused" in _failure_text(result)
    assert not (settings.landing_dir() / "app" / "foo.csv").exists()


def test_a_stray_still_being_written_waits(data_dir: Path) -> None:
    drop(settings.landing_dir(), "app/users.csv.part", "id")
    assert landing.stray_entries(settings.landing_dir()) == {}
