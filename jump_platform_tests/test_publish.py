"""Write-audit-publish, piece by piece on tiny files: the build's recovery, publishing, finishing
an interrupted publish, and rollback. The whole pipeline is in test_wap.py; the run lock in
test_crash.py."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from jump_platform.lakehouse import Layout, snapshots
from jump_platform.lakehouse.build import FAILED, OPEN, READY, BuildState, close_build, open_build, unpublishable


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    return Layout(tmp_path / "lakehouse" / "lakehouse.duckdb", tmp_path / "exports", tmp_path / "sources")


def _write(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    return path


def _build_run(layout: Layout, run_id: str, value: int, batch: str | None = None, export: str | None = None) -> BuildState:
    """What a run does to the build, without Dagster: open it, load a batch, write a table and an export."""
    state = open_build(layout, run_id).state
    if batch:
        _write(layout.landing / "_batches" / batch / "app" / "users.csv", f"users of {batch}\n")
        state.batches.append(batch)
    with duckdb.connect(str(layout.build)) as con:
        con.execute("create schema if not exists marts")
        con.execute("create or replace table marts.answer as select ? as value", [value])
    state.record_written(["marts/answer"])
    if export:
        _write(layout.build_exports / "report.csv", export)
        state.record_written(["exports/report"])
    state.save(layout)
    return state


def _publish(layout: Layout, state: BuildState, run_id: str) -> snapshots.Published:
    snapshot = snapshots.Snapshot(
        snapshots.new_snapshot_id(dt.datetime.now(dt.UTC), run_id),
        run_id,
        "2026-11-21T06:00:00+00:00",
        batches=list(state.batches),
    )
    published = snapshots.publish(layout, snapshot, ["report"])
    BuildState(base=snapshot.snapshot_id, run_id=run_id).save(layout)
    return published


def _answer(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.sql("select value from marts.answer").fetchone()[0]


# --- publishing ---------------------------------------------------------------------------------

READ_ANSWER = (
    "import sys, duckdb; print(duckdb.connect(sys.argv[1], read_only=True).sql('select value from marts.answer').fetchone()[0])"
)


def test_a_publish_makes_the_build_what_readers_see_with_its_exports_and_archives_its_batches(layout: Layout) -> None:
    state = _build_run(layout, "run-1", 1, batch="b1", export="one\n")
    published = _publish(layout, state, "run-1")

    assert _answer(layout.published) == 1
    assert (layout.exports / "report.csv").read_text() == "one\n"
    assert (layout.landing / "_archive" / "b1" / "app" / "users.csv").exists()
    assert not (layout.landing / "_batches").exists()
    assert snapshots.current_snapshot_id(layout) == published.snapshot.snapshot_id
    with duckdb.connect(str(layout.published), read_only=True) as con:
        assert con.sql("select snapshot_id from _lakehouse.snapshot").fetchone()[0] == published.snapshot.snapshot_id
    assert published.tables == ["marts.answer"]
    # The published file is never written again: read-only, and the build is a separate file.
    assert not os.stat(layout.published).st_mode & 0o222
    assert not os.path.samefile(layout.build, layout.published)
    # Readers open stable paths; they lead to the snapshot through `current`.
    assert os.readlink(layout.published) == "current/lakehouse.duckdb"
    assert layout.exports.resolve() == layout.snapshot_exports(published.snapshot.snapshot_id).resolve()


def test_a_reader_of_the_previous_snapshot_keeps_reading_it_and_a_new_connection_sees_the_new_one(
    layout: Layout,
) -> None:
    _publish(layout, _build_run(layout, "run-1", 1, export="one\n"), "run-1")
    reader = duckdb.connect(str(layout.published), read_only=True)
    try:
        _publish(layout, _build_run(layout, "run-2", 2), "run-2")
        assert reader.sql("select value from marts.answer").fetchone()[0] == 1
        # Another process connecting now (within this one, DuckDB would hand back the open database).
        fresh = subprocess.run(
            [sys.executable, "-c", READ_ANSWER, str(layout.published)], capture_output=True, text=True, check=True
        )
        assert fresh.stdout.strip() == "2"
    finally:
        reader.close()
    # The export was not rewritten by the second run: the new snapshot keeps the published one.
    assert (layout.exports / "report.csv").read_text() == "one\n"


def test_two_snapshots_are_kept_and_rollback_puts_the_previous_one_back_with_its_exports(layout: Layout) -> None:
    first = _publish(layout, _build_run(layout, "run-1", 1, export="one\n"), "run-1").snapshot.snapshot_id
    second = _publish(layout, _build_run(layout, "run-2", 2, export="two\n"), "run-2").snapshot.snapshot_id
    third = _publish(layout, _build_run(layout, "run-3", 3, export="three\n"), "run-3").snapshot.snapshot_id
    assert snapshots.snapshot_ids(layout) == [second, third]

    assert snapshots.rollback(layout) == (third, second)
    assert _answer(layout.published) == 2
    assert (layout.exports / "report.csv").read_text() == "two\n"
    assert snapshots.snapshot_ids(layout) == [second]
    with pytest.raises(LookupError, match="nothing to roll back to"):
        snapshots.rollback(layout)
    assert first not in snapshots.snapshot_ids(layout)

    # The build was made from the snapshot rolled back: the next run starts again from this one.
    opened = open_build(layout, "run-4")
    assert opened.reset_because and "published snapshot changed" in opened.reset_because
    assert _answer(layout.build) == 2


def _publish_stopped_at(layout: Layout, monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    """Run 2 loads batch b2 and an export, and its publish stops at `step` (as if killed there)."""
    state = _build_run(layout, "run-2", 2, batch="b2", export="two\n")

    def stop(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(snapshots, step, stop)
    with pytest.raises(KeyboardInterrupt):
        _publish(layout, state, "run-2")
    monkeypatch.undo()


def test_a_publish_stopped_before_its_rename_leaves_readers_on_the_previous_snapshot(
    layout: Layout, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _publish(layout, _build_run(layout, "run-1", 1, export="one\n"), "run-1").snapshot.snapshot_id
    _publish_stopped_at(layout, monkeypatch, "_point_current_at")

    assert _answer(layout.published) == 1 and (layout.exports / "report.csv").read_text() == "one\n"
    # The next run finds the snapshot that was never published, drops it, and starts again.
    opened = open_build(layout, "run-3")
    assert snapshots.snapshot_ids(layout) == [before]
    assert opened.reset_because == "run run-2 stopped before it finished"
    assert opened.returned_files == [layout.landing / "app" / "users.csv"]


def test_a_publish_stopped_after_its_rename_is_finished_by_the_next_run(layout: Layout, monkeypatch: pytest.MonkeyPatch) -> None:
    _publish(layout, _build_run(layout, "run-1", 1, export="one\n"), "run-1")
    _publish_stopped_at(layout, monkeypatch, "settle_published")
    # Published, with its exports (one rename switched both); its batch is not archived yet.
    assert _answer(layout.published) == 2 and (layout.exports / "report.csv").read_text() == "two\n"
    assert (layout.landing / "_batches" / "b2").exists()

    opened = open_build(layout, "run-3")
    assert (layout.landing / "_archive" / "b2" / "app" / "users.csv").exists()
    assert opened.returned_files == []
    assert _answer(layout.build) == 2


# --- the build between runs ---------------------------------------------------------------------


def test_a_build_left_open_by_a_dead_run_starts_again_and_its_files_go_back_to_the_landing_zone(
    layout: Layout,
) -> None:
    _publish(layout, _build_run(layout, "run-1", 1), "run-1")
    _build_run(layout, "run-2", 2, batch="b2")  # ... and the process dies: the state stays open
    assert BuildState.load(layout).status == OPEN
    # Meanwhile the same file was delivered again: the newer one stays, the older one is rejected.
    (layout.landing / "_batches" / "b2" / "app" / "clients.csv").write_text("clients of b2\n")
    _write(layout.landing / "app" / "users.csv", "newer users\n")

    opened = open_build(layout, "run-3")

    assert opened.reset_because == "run run-2 stopped before it finished"
    assert _answer(layout.build) == 1
    assert opened.returned_files == [layout.landing / "app" / "clients.csv"]
    assert (layout.landing / "app" / "users.csv").read_text() == "newer users\n"
    reason = (layout.landing / "_rejected" / "b2" / "app" / "users.csv.error.txt").read_text()
    assert reason.startswith("not loaded: batch b2 was interrupted and app/users.csv was delivered again since")
    assert not (layout.landing / "_batches").exists()


def test_a_build_ready_to_publish_is_kept_for_the_next_run(layout: Layout) -> None:
    state = _build_run(layout, "run-1", 1, batch="b1")
    close_build(layout, state, failure=None)
    assert BuildState.load(layout).status == READY

    opened = open_build(layout, "run-2")

    assert opened.reset_because is None
    assert opened.state.batches == ["b1"] and opened.state.written == {"marts/answer": 1}
    assert (layout.landing / "_batches" / "b1" / "app" / "users.csv").exists()


def test_a_failed_audit_rejects_the_build_s_batches_keeps_it_for_inspection_then_starts_again(layout: Layout) -> None:
    _publish(layout, _build_run(layout, "run-1", 1), "run-1")
    state = _build_run(layout, "run-2", 2, batch="b2")

    rejected = close_build(layout, state, failure="blocking check marts/answer/is_small failed")

    assert rejected == [layout.landing / "_rejected" / "b2" / "app" / "users.csv"]
    reason = (layout.landing / "_rejected" / "b2" / "app" / "users.csv.error.txt").read_text()
    assert reason == "not published: blocking check marts/answer/is_small failed\n"
    assert BuildState.load(layout).status == FAILED
    assert _answer(layout.build) == 2  # what `make query LAKEHOUSE=build` shows
    assert _answer(layout.published) == 1
    opened = open_build(layout, "run-3")
    assert opened.reset_because.startswith("run run-2 failed its audit")
    assert _answer(layout.build) == 1


@pytest.mark.parametrize(
    ("written", "problems"),
    [
        ({"sources/a": 1, "staging/a": 2, "exports/a": 2}, []),
        ({"sources/a": 1}, ["sources/a changed but exports/a, staging/a were not rebuilt since"]),
        ({"staging/a": 1, "exports/a": 1, "sources/a": 2}, ["sources/a changed but exports/a, staging/a were not rebuilt since"]),
        ({"staging/a": 1}, ["staging/a changed but exports/a was not rebuilt since"]),
    ],
    ids=["everything followed", "load alone", "load after the models", "models without exports"],
)
def test_a_build_is_published_only_once_every_change_went_through_its_downstream_models(
    written: dict[str, int], problems: list[str]
) -> None:
    downstream = {"sources/a": {"staging/a", "exports/a"}, "staging/a": {"exports/a"}, "exports/a": set()}
    assert unpublishable(BuildState(base=None, written=written), downstream) == problems


def test_the_lakehouse_and_its_exports_switch_together_in_one_rename(layout: Layout) -> None:
    """Between any two steps of a publish, readers see the lakehouse and the exports of one
    snapshot: both are reached through the single link `current`."""
    _publish(layout, _build_run(layout, "run-1", 1, export="one\n"), "run-1")
    _publish(layout, _build_run(layout, "run-2", 2, export="two\n"), "run-2")
    for path in (layout.published, layout.exports):
        assert path.resolve().parent == layout.current.resolve() or path.resolve() == layout.current.resolve() / "exports"


def test_a_lakehouse_copied_without_its_links_is_published_over_and_rolled_back(layout: Layout, tmp_path: Path) -> None:
    import shutil

    _publish(layout, _build_run(layout, "run-1", 1, export="one\n"), "run-1")
    copy = Layout(
        tmp_path / "copy" / "lakehouse" / "lakehouse.duckdb", tmp_path / "copy" / "exports", tmp_path / "copy" / "sources"
    )
    shutil.copytree(tmp_path / "lakehouse", copy.folder)  # links become plain files and folders
    shutil.copytree(layout.exports, copy.exports)
    assert not copy.published.is_symlink()

    _publish(copy, _build_run(copy, "run-2", 2, export="two\n"), "run-2")
    assert _answer(copy.published) == 2 and (copy.exports / "report.csv").read_text() == "two\n"
    snapshots.rollback(copy)
    assert _answer(copy.published) == 1 and (copy.exports / "report.csv").read_text() == "one\n"


def test_a_real_exports_folder_from_before_snapshots_is_kept_aside_not_deleted(layout: Layout) -> None:
    _write(layout.exports / "notes-of-an-analyst.txt", "mine\n")
    _publish(layout, _build_run(layout, "run-1", 1, export="one\n"), "run-1")
    assert layout.exports.is_symlink() and (layout.exports / "report.csv").read_text() == "one\n"
    assert (layout.exports.with_name("exports.before-publish") / "notes-of-an-analyst.txt").read_text() == "mine\n"
