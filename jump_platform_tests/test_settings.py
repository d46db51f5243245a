"""Settings are checked before anything runs: a bad value stops the CLI at once, with one line naming
the variable, what was expected and what was found, exit status 2, and nothing written."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jump_platform import settings
from jump_platform.runner import cli
from jump_platform.sources.settings_checks import validate_settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("JUMP_AS_OF", "2026-13-01", "JUMP_AS_OF: expected an ISO date like 2026-01-31, found '2026-13-01'"),
        ("JUMP_AS_OF", "2010-06-30", "JUMP_AS_OF: expected a date on or after 2019-01-01, when Jump's data starts"),
        ("JUMP_SCALE", "big", "JUMP_SCALE: expected a positive number like 1 or 0.5"),
        ("JUMP_SCALE", "-2", "JUMP_SCALE: expected a positive number like 1 or 0.5 (1 = about 5,000 invoices), found '-2'"),
        ("JUMP_SCALE", "inf", "JUMP_SCALE: expected a positive number"),
        ("JUMP_SEED", "-1", "JUMP_SEED: expected a non-negative integer like 42, found '-1'"),
        ("JUMP_SEED", "4.2", "JUMP_SEED: expected a non-negative integer like 42, found '4.2'"),
        ("JUMP_ANOMALIES", "duplicate_ids,typo", "JUMP_ANOMALIES: expected comma-separated names among overlapping_contracts"),
        ("JUMP_PRODUCER", "dlt", "JUMP_PRODUCER: expected one of generator, extracts, found 'dlt'"),
        ("JUMP_SCHEDULES", "maybe", "JUMP_SCHEDULES: expected on or off, found 'maybe'"),
        ("JUMP_DUCKDB_MEMORY_LIMIT", "lots", "JUMP_DUCKDB_MEMORY_LIMIT: expected a size DuckDB understands, like 1GB"),
        ("JUMP_LOCK_TIMEOUT", "soon", "JUMP_LOCK_TIMEOUT: expected a number of seconds, 0 or more, found 'soon'"),
        ("JUMP_LOCK_TIMEOUT", "-1", "JUMP_LOCK_TIMEOUT: expected a number of seconds, 0 or more, found '-1'"),
    ],
)
def test_each_invalid_setting_stops_the_cli_with_one_line_and_status_2_writing_nothing(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    monkeypatch.setenv("DAGSTER_HOME", str(data_dir.parent / "dagster_home"))
    status = cli.main(["run", "refresh"])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith(expected), line
    assert not data_dir.exists() and not (data_dir.parent / "dagster_home").exists()


def test_the_unknown_anomaly_is_named_and_the_known_ones_are_not(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUMP_ANOMALIES", "duplicate_ids, typo")
    [error] = validate_settings()
    assert error.variable == "JUMP_ANOMALIES" and error.found == "typo"


def test_valid_settings_pass(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable, value in {
        "JUMP_SCALE": "0.5",
        "JUMP_SEED": "7",
        "JUMP_ANOMALIES": "duplicate_ids,empty_month",
        "JUMP_PRODUCER": "Extracts",
        "JUMP_SCHEDULES": "off",
        "JUMP_DUCKDB_MEMORY_LIMIT": "512MiB",
        "JUMP_LOCK_TIMEOUT": "0",
    }.items():
        monkeypatch.setenv(variable, value)
    assert validate_settings() == []


def test_a_long_value_is_quoted_short_and_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUMP_PRODUCER", "x" * 500 + "\n; drop table")
    [error] = settings.validate()
    assert len(str(error)) < 200 and "\n" not in str(error)


def test_a_bad_setting_fails_the_real_command_at_once(tmp_path: Path) -> None:
    """What `make run` runs, in its own process: one line on stderr, status 2, no data folder."""
    env = {**os.environ, "JUMP_DATA_DIR": str(tmp_path / "data"), "JUMP_AS_OF": "2026-13-01"}
    env["DAGSTER_HOME"] = str(tmp_path / "dagster_home")
    done = subprocess.run(
        [sys.executable, "-m", "jump_platform.runner.cli", "run", "refresh"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["JUMP_AS_OF: expected an ISO date like 2026-01-31, found '2026-13-01'"]
    assert not (tmp_path / "data").exists()


def test_the_code_location_refuses_to_load_with_a_bad_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from jump_platform.definitions import defs

    monkeypatch.setenv("JUMP_SEED", "abc")
    with pytest.raises(settings.SettingsError, match="JUMP_SEED: expected a non-negative integer"):
        defs()


def test_the_lakehouse_path_is_kept_as_given_not_followed_to_the_snapshot_it_links_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot = tmp_path / "lakehouse" / "snapshots" / "s1" / "lakehouse.duckdb"
    snapshot.parent.mkdir(parents=True)
    snapshot.touch()
    published = tmp_path / "lakehouse" / "lakehouse.duckdb"
    published.symlink_to(snapshot)
    monkeypatch.setenv("JUMP_DUCKDB_PATH", str(published))
    assert settings.duckdb_path() == published
    assert settings.build_duckdb_path() == tmp_path / "lakehouse" / "build" / "lakehouse.duckdb"


# --- every variable, declared once -------------------------------------------------------------

REFUSED = [(field, variable) for field, variable in settings.VARIABLES.items() if variable.invalid is not None]
FREE_TEXT = [(field, variable) for field, variable in settings.VARIABLES.items() if variable.invalid is None]


@pytest.mark.parametrize(("field", "variable"), REFUSED, ids=[variable.name for _, variable in REFUSED])
def test_every_variable_refuses_its_invalid_value_at_start_in_one_line_with_status_2(
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    field: str,
    variable: settings.Variable,
) -> None:
    """Parametrized over the settings model: a variable added to it is covered here at once."""
    monkeypatch.setenv(variable.name, variable.invalid)
    monkeypatch.setenv("DAGSTER_HOME", str(data_dir.parent / "dagster_home"))
    status = cli.main(["run", "refresh"])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith(f"{variable.name}: expected "), line
    if variable.secret:
        assert variable.invalid not in line  # a URL or a password may hold a secret: never quoted
    else:
        assert line.endswith(f", found {variable.invalid!r}") or variable.invalid in line, line
    assert not data_dir.exists() and not (data_dir.parent / "dagster_home").exists()


@pytest.mark.parametrize(("field", "variable"), FREE_TEXT, ids=[variable.name for _, variable in FREE_TEXT])
def test_a_variable_with_no_invalid_value_accepts_any_text(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, field: str, variable: settings.Variable
) -> None:
    """A field declares the value it refuses, or accepts anything: no third, untested kind."""
    text = str(data_dir.parent / "any text, even with spaces")
    monkeypatch.setenv(variable.name, text)
    assert str(settings.read(field)) == text


def test_each_variable_the_code_reads_is_declared_in_the_settings_model() -> None:
    """A `JUMP_*` variable named anywhere in the platform or the dbt project is a field of the model,
    or one the platform sets for dbt itself."""
    declared = {variable.name for variable in settings.VARIABLES.values()} | set(settings.DBT_ONLY_VARIABLES)
    files = [
        *settings.PROJECT_ROOT.joinpath("jump_platform").rglob("*.py"),
        *(path for path in settings.DBT_PROJECT_DIR.rglob("*") if path.suffix in (".sql", ".yml", ".md")),
    ]
    named = {
        name
        for path in files
        if "target" not in path.relative_to(settings.PROJECT_ROOT).parts and "dbt_packages" not in path.parts
        for name in re.findall(r"\bJUMP_[A-Z0-9_]*[A-Z0-9](?![A-Z0-9_*])", path.read_text())
    }
    assert named - declared == set()
    assert len(declared) == len(settings.VARIABLES) + len(settings.DBT_ONLY_VARIABLES)  # each declared once


def test_the_notification_settings_are_refused_at_start(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUMP_SMTP_PORT", "notaport")
    monkeypatch.setenv("JUMP_NOTIFY_WEBHOOK", "http://hooks.example.com/services/T000/secret-token")
    errors = [str(error) for error in validate_settings()]
    assert errors == [
        (
            "JUMP_NOTIFY_WEBHOOK: expected an https:// URL (http:// to a loopback address only, such as 127.0.0.1), "
            "found a value not shown"
        ),
        "JUMP_SMTP_PORT: expected a TCP port number, 1 to 65535, found 'notaport'",
    ]


def test_a_password_for_an_unencrypted_smtp_server_is_refused_at_start(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUMP_SMTP_HOST", "mail.example")
    monkeypatch.setenv("JUMP_SMTP_TO", "ops@example.com")
    monkeypatch.setenv("JUMP_SMTP_USER", "jump")
    [error] = validate_settings()
    assert error.variable == "JUMP_SMTP_USER" and "JUMP_SMTP_STARTTLS=true" in str(error)
    monkeypatch.setenv("JUMP_SMTP_STARTTLS", "true")
    assert validate_settings() == []


def test_the_settings_import_nothing_of_the_platform() -> None:
    """The bottom layer: the names only a domain knows are judged by that domain."""
    tree = ast.parse(Path(settings.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)} | {
        alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    assert not {name for name in imported if name and name.startswith("jump_platform")}
