"""Every place that deletes or moves files under `data/`, each with its assumption broken on
purpose: a dangling or missing `current` link, foreign files in the snapshots folder, a half-written
snapshot, an unreadable `snapshot.json` or `state.json`, a full disk (on a small tmpfs), and the
retention of old snapshots and settled deliveries. Nothing but what is provably expendable goes.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

from jump_platform import settings
from jump_platform.files import DiskFullError, write_table_atomically
from jump_platform.lakehouse import Layout, housekeeping, snapshots
from jump_platform.lakehouse.build import FAILED, OPEN, BuildState, close_build, free_leftovers, open_build
from jump_platform.sources.landing import retention
from jump_platform_tests.test_publish import _answer, _build_run, _publish, _write


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    return Layout(tmp_path / "lakehouse" / "lakehouse.duckdb", tmp_path / "exports", tmp_path / "sources")


def _two_published(layout: Layout) -> tuple[str, str]:
    first = _publish(layout, _build_run(layout, "run-1", 1, export="one\n"), "run-1").snapshot.snapshot_id
    second = _publish(layout, _build_run(layout, "run-2", 2, export="two\n"), "run-2").snapshot.snapshot_id
    return first, second


def _tree(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


# --- a dangling or missing `current` ------------------------------------------------------------


def test_a_dangling_current_link_deletes_nothing_names_the_link_and_rollback_repairs_it(layout: Layout) -> None:
    first, second = _two_published(layout)
    build_before = _answer(layout.build)
    kept = _tree(layout.snapshots)
    layout.current.unlink()
    layout.current.symlink_to("snapshots/20990101T000000000000Z-deadbeef")

    with pytest.raises(snapshots.PublishedStateError) as raised:
        open_build(layout, "run-3")

    message = str(raised.value)
    assert str(layout.current) in message and "snapshots/20990101T000000000000Z-deadbeef" in message
    assert "does not exist" in message and "Nothing was deleted" in message
    assert f"`make rollback` points it at the newest intact snapshot, {second}" in message
    assert _tree(layout.snapshots) == kept
    assert _answer(layout.build) == build_before

    # The repair: the newest intact snapshot is published again, and nothing else is lost.
    assert snapshots.rollback(layout) == (None, second)
    assert _answer(layout.published) == 2 and (layout.exports / "report.csv").read_text() == "two\n"
    assert snapshots.snapshot_ids(layout) == [first, second]
    assert open_build(layout, "run-3").state.base == second


def test_a_missing_current_link_with_snapshots_kept_is_an_error_and_rollback_repairs_it(layout: Layout) -> None:
    first, second = _two_published(layout)
    layout.current.unlink()

    with pytest.raises(snapshots.PublishedStateError, match=r"current is missing, although 2 snapshot\(s\) are kept"):
        open_build(layout, "run-3")
    assert snapshots.snapshot_ids(layout) == [first, second]

    assert snapshots.rollback(layout) == (None, second)
    assert _answer(layout.published) == 2


def test_the_repair_skips_a_newer_snapshot_that_is_not_intact(layout: Layout) -> None:
    first, second = _two_published(layout)
    (layout.snapshot_folder(second) / "snapshot.json").write_text("{ not json")
    layout.current.unlink()
    layout.current.symlink_to("snapshots/gone")

    assert snapshots.rollback(layout) == (None, first)
    assert _answer(layout.published) == 1
    assert snapshots.snapshot_ids(layout) == [first, second]  # the damaged one is kept, not classified


# --- the snapshot clean-up: only what it can classify -------------------------------------------


def test_the_clean_up_keeps_foreign_files_half_written_snapshots_and_unreadable_records(layout: Layout) -> None:
    """Only intact snapshots older than the rollback target (or newer than the published one) go."""
    oldest = _publish(layout, _build_run(layout, "run-0", 0), "run-0").snapshot.snapshot_id
    first, second = _two_published(layout)  # with 2 kept, `oldest` went at the second publish
    assert snapshots.snapshot_ids(layout) == [first, second]
    folder = layout.snapshots
    _write(folder / "notes-of-an-operator.txt", "mine\n")
    _write(folder / "backup-of-tuesday" / "lakehouse.duckdb", "a copy\n")
    # Half-written: an old snapshot's name with its file but no record (a copy stopped halfway).
    _write(folder / "20200101T000000000000Z-halfwrit" / "lakehouse.duckdb", "half\n")
    # Unreadable: a snapshot older than the rollback target whose record is damaged.
    shutil.copytree(layout.snapshot_folder(first), folder / "20200102T000000000000Z-damaged0")
    (folder / "20200102T000000000000Z-damaged0" / "snapshot.json").write_text("{ not json")
    # Half-written by a publish of some run nobody knows is dead.
    _write(folder / ".20200103T000000000000Z-someone" / "lakehouse.duckdb", "staging\n")
    # An intact snapshot older than the rollback target, and one never published (newer): expendable.
    shutil.copytree(layout.snapshot_folder(first), folder / oldest)
    (folder / oldest / "snapshot.json").write_text(
        json.dumps({**json.loads((folder / first / "snapshot.json").read_text()), "snapshot_id": oldest})
    )
    never = "20990101T000000000000Z-never000"
    shutil.copytree(layout.snapshot_folder(first), folder / never)
    (folder / never / "snapshot.json").write_text(
        json.dumps({**json.loads((folder / first / "snapshot.json").read_text()), "snapshot_id": never})
    )
    before = set(os.listdir(folder))

    snapshots.settle_published(layout)

    assert set(os.listdir(folder)) == before - {oldest, never}
    assert _answer(layout.published) == 2


def test_snapshots_kept_follows_jump_snapshots_kept(layout: Layout, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUMP_SNAPSHOTS_KEPT", "3")
    ids = [_publish(layout, _build_run(layout, f"run-{n}", n), f"run-{n}").snapshot.snapshot_id for n in range(4)]
    assert snapshots.snapshot_ids(layout) == ids[1:]
    monkeypatch.setenv("JUMP_SNAPSHOTS_KEPT", "1")
    assert [str(e) for e in settings.validate()] == ["JUMP_SNAPSHOTS_KEPT: expected a whole number, 2 or more, found '1'"]


def test_rollback_goes_back_to_the_newest_intact_snapshot_never_to_a_damaged_one(
    layout: Layout, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUMP_SNAPSHOTS_KEPT", "3")
    ids = [_publish(layout, _build_run(layout, f"run-{n}", n), f"run-{n}").snapshot.snapshot_id for n in range(3)]
    (layout.snapshot_folder(ids[1]) / "snapshot.json").unlink()

    assert snapshots.rollback(layout) == (ids[2], ids[0])
    assert _answer(layout.published) == 0
    assert ids[1] in snapshots.snapshot_ids(layout)


def test_a_snapshot_removal_stopped_halfway_is_finished_by_the_next_run(layout: Layout) -> None:
    _two_published(layout)
    stopped = layout.snapshots / ".20200101T000000000000Z-oldrun00.removing"
    _write(stopped / "exports" / "report.csv", "old\n")

    assert str(stopped) in " ".join(free_leftovers(layout))
    assert not stopped.exists()


# --- the lakehouse folder: links, temporaries, exports ------------------------------------------


def test_foreign_temporary_files_beside_the_lakehouse_survive_a_publish(layout: Layout) -> None:
    _write(layout.folder / ".notes-of-an-operator.tmp", "mine\n")
    own = _write(layout.folder / ".current.link.tmp", "")
    _two_published(layout)
    assert (layout.folder / ".notes-of-an-operator.tmp").read_text() == "mine\n"
    assert not own.exists()


def test_a_real_exports_folder_is_kept_aside_even_when_the_aside_name_is_taken(layout: Layout) -> None:
    _write(layout.exports.with_name("exports.before-publish") / "earlier.txt", "earlier\n")
    _write(layout.exports / "notes-of-an-analyst.txt", "mine\n")
    _publish(layout, _build_run(layout, "run-1", 1, export="one\n"), "run-1")
    assert (layout.exports.with_name("exports.before-publish") / "earlier.txt").read_text() == "earlier\n"
    assert (layout.exports.with_name("exports.before-publish.2") / "notes-of-an-analyst.txt").read_text() == "mine\n"


def test_foreign_files_in_the_build_exports_survive_a_publish_and_a_reset(layout: Layout) -> None:
    _publish(layout, _build_run(layout, "run-1", 1, export="one\n"), "run-1")
    foreign = _write(layout.build_exports / "notes-of-an-analyst.txt", "mine\n")
    _write(layout.build_exports / "folder" / "inside.txt", "mine\n")
    state = _build_run(layout, "run-2", 2, export="two\n")
    _publish(layout, state, "run-2")
    assert not (layout.build_exports / "report.csv").exists()  # published: the build holds none of its own
    _write(layout.build_exports / "report.csv", "unpublished\n")
    BuildState(base="elsewhere", status=FAILED, run_id="run-3", failure="x").save(layout)

    open_build(layout, "run-4")  # a failed build starts again: its own exports go

    assert not (layout.build_exports / "report.csv").exists()
    assert foreign.read_text() == "mine\n" and (layout.build_exports / "folder" / "inside.txt").exists()


# --- the build's state ----------------------------------------------------------------------------


def test_an_unreadable_state_file_is_kept_aside_and_its_batches_go_back_to_the_landing_zone(layout: Layout) -> None:
    _publish(layout, _build_run(layout, "run-1", 1), "run-1")
    _build_run(layout, "run-2", 2, batch="b2")
    layout.state_file.write_text("{ half a state")

    opened = open_build(layout, "run-3")

    assert opened.reset_because and "state file was unreadable" in opened.reset_because
    assert layout.state_file.with_name("state.json.unreadable").read_text() == "{ half a state"
    assert opened.returned_files == [layout.landing / "app" / "users.csv"]
    assert _answer(layout.build) == 1 and _answer(layout.published) == 1


def test_the_next_run_frees_what_a_dead_run_left_and_only_that(layout: Layout) -> None:
    """A run died on a full disk: state `open`, a 0-byte `.state.json.tmp`, its build and WAL, and
    its half-written snapshot. The next run frees them; another run's staging folder stays."""
    published = _publish(layout, _build_run(layout, "run-1", 1), "run-1").snapshot.snapshot_id
    _build_run(layout, "run-2-dead", 2, batch="b2")  # ... and dies holding the build
    assert BuildState.load(layout).status == OPEN
    _write(layout.state_file.with_name(".state.json.tmp"), "")
    _write(layout.build.with_name("lakehouse.duckdb.wal"), "wal")
    own = snapshots.staging_folder(layout, snapshots.new_snapshot_id(dt.datetime.now(dt.UTC), "run-2-dead"))
    _write(own / "lakehouse.duckdb", "partial")
    other = _write(layout.snapshots / ".20200101T000000000000Z-someone" / "lakehouse.duckdb", "partial")

    freed = free_leftovers(layout)

    assert {Path(line.split(" (")[0]) for line in freed} == {
        layout.state_file.with_name(".state.json.tmp"),
        layout.build,
        layout.build.with_name("lakehouse.duckdb.wal"),
        own,
    }
    assert other.exists() and (layout.landing / "_batches" / "b2").is_dir()
    assert snapshots.current_snapshot_id(layout) == published and _answer(layout.published) == 1
    opened = open_build(layout, "run-3")
    assert opened.returned_files == [layout.landing / "app" / "users.csv"] and _answer(layout.build) == 1


# --- a full disk ----------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mount a small tmpfs (`size`, like "8m") under tmp_path; skipped where it cannot be mounted."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        point = tmp_path / f"disk-{len(mounted)}"
        point.mkdir()
        if os.geteuid() != 0:
            pytest.skip("a small file system for the full disk needs root to mount a tmpfs")
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)], capture_output=True, text=True
        )
        if result.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here: {result.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


def _fill(folder: Path, leave: int) -> Path:
    """Fill the file system of `folder` until `leave` bytes are free."""
    filler = folder / "filler"
    size = shutil.disk_usage(folder).free - leave
    with filler.open("wb") as handle:
        handle.write(b"\0" * max(size, 0))
    return filler


def test_a_full_disk_names_the_path_and_the_free_space_and_leaves_no_half_file(small_disk: Callable[[str], Path]) -> None:
    disk = small_disk("1m")
    _fill(disk, leave=0)
    import polars as pl

    with pytest.raises(DiskFullError) as raised:
        write_table_atomically(pl.DataFrame({"n": range(100_000)}), disk / "app" / "users.csv")

    assert raised.value.errno == errno.ENOSPC
    assert str(disk / "app" / "users.csv") in str(raised.value) and "free there" in str(raised.value)
    assert sorted(p.name for p in (disk / "app").iterdir()) == []


def test_a_publish_on_a_full_disk_frees_its_snapshot_and_build_and_the_next_run_goes_on(
    small_disk: Callable[[str], Path],
) -> None:
    disk = small_disk("24m")
    layout = Layout(disk / "lakehouse" / "lakehouse.duckdb", disk / "exports", disk / "sources")
    first = _publish(layout, _build_run(layout, "run-1", 1), "run-1").snapshot.snapshot_id
    state = _build_run(layout, "run-2", 2, batch="b2")
    with duckdb.connect(str(layout.build)) as con:  # a larger run: the build grows
        con.execute("create table marts.big as select range as n, md5(range::varchar) as h from range(150000)")
    BuildState.save(state, layout)
    filler = _fill(disk, leave=layout.build.stat().st_size // 2)  # room for half a snapshot

    with pytest.raises(DiskFullError) as raised:
        _publish(layout, state, "run-2")

    assert str(layout.snapshots) in str(raised.value) and "free there" in str(raised.value) and "needed" in str(raised.value)
    assert [p.name for p in layout.snapshots.iterdir()] == [first]  # its own partial snapshot went
    assert snapshots.current_snapshot_id(layout) == first and _answer(layout.published) == 1
    close_build(layout, state, failure=f"step lakehouse__published failed ({raised.value})", disk_full=True)
    assert not layout.build.exists()  # its partial build went
    assert (layout.landing / "app" / "users.csv").exists()  # its delivery waits to be loaded again
    assert not (layout.landing / "_rejected").exists()

    # With the disk full to the last byte, a state file that cannot be written leaves no 0-byte temporary.
    filler.unlink()
    leftover_filler = _fill(disk, leave=0)
    with pytest.raises(DiskFullError, match=r"state\.json"):
        BuildState(base=first, run_id="run-x").save(layout)
    assert not layout.state_file.with_name(".state.json.tmp").exists()
    leftover_filler.unlink()

    opened = open_build(layout, "run-3")
    assert opened.reset_because and "run-2 failed" in opened.reset_because
    assert _answer(layout.build) == 1 and opened.state.base == first


def test_a_run_warns_when_the_disk_is_clearly_too_small(small_disk: Callable[[str], Path]) -> None:
    disk = small_disk("8m")
    layout = Layout(disk / "lakehouse" / "lakehouse.duckdb", disk / "exports", disk / "sources")
    _publish(layout, _build_run(layout, "run-1", 1), "run-1")
    said: list[str] = []
    housekeeping.before_run(layout, said.append)
    assert said == []

    _fill(disk, leave=layout.published.stat().st_size)
    housekeeping.before_run(layout, said.append)
    assert len(said) == 1 and str(layout.folder) in said[0] and "free" in said[0] and "needs about" in said[0]


# --- retention of settled deliveries --------------------------------------------------------------


def test_retention_removes_only_settled_batches_past_their_time(layout: Layout, monkeypatch: pytest.MonkeyPatch) -> None:
    now = dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC)
    root = layout.landing
    old, recent = "20261001T060000Z-aaaaaaaa", "20261201T060000Z-bbbbbbbb"
    for outcome in ("_archive", "_rejected"):
        _write(root / outcome / old / "app" / "users.csv", "x\n")
        _write(root / outcome / recent / "app" / "users.csv", "x\n")
        _write(root / outcome / "kept-by-hand" / "app" / "users.csv", "x\n")
    waiting = _write(root / "_batches" / old / "app" / "users.csv", "x\n")
    pending = _write(root / "app" / "users.csv", "x\n")

    removed = retention.apply_retention(root, archive_days=30, rejected_days=90, now=now)

    assert [r.folder for r in removed] == [root / "_archive" / old]
    assert (root / "_rejected" / old).is_dir() and (root / "_archive" / "kept-by-hand").is_dir()
    assert (root / "_archive" / recent).is_dir() and waiting.exists() and pending.exists()
    assert retention.apply_retention(root, 0, 0, now + dt.timedelta(days=3650)) == []

    monkeypatch.setenv("JUMP_REJECTED_RETENTION_DAYS", "30")
    said: list[str] = []
    housekeeping.after_run(layout, said.append, now=now)
    assert not (root / "_rejected" / old).exists() and (root / "_rejected" / recent).is_dir()
    assert said and "_rejected/20261001T060000Z-aaaaaaaa" in said[-1]


# --- the landing zone's moves ---------------------------------------------------------------------


def test_a_move_to_rejected_never_replaces_what_is_already_there(tmp_path: Path) -> None:
    from jump_platform.sources import landing

    root = tmp_path / "sources"
    first = _write(root / "app" / "notes.txt", "first\n")
    landing.reject_strays(root, "20261201T060000Z-aaaaaaaa", {first: "a stray"})
    again = _write(root / "app" / "notes.txt", "second\n")
    landing.reject_strays(root, "20261201T060000Z-aaaaaaaa", {again: "a stray"})

    rejected = root / "_rejected" / "20261201T060000Z-aaaaaaaa" / "app"
    assert (rejected / "notes.txt").read_text() == "first\n"
    assert (rejected / "notes.txt.2").read_text() == "second\n"
    assert (rejected / "notes.txt.2.error.txt").read_text() == "a stray\n"


def test_batches_given_back_to_the_landing_zone_leave_the_newest_delivery_in_place(layout: Layout) -> None:
    """A ready build's batch and a dead run's newer batch both hold app/users.csv: the newer one is
    loaded again, the older one goes to `_rejected/` as superseded (never the other way round)."""
    _publish(layout, _build_run(layout, "run-1", 1), "run-1")
    _write(layout.landing / "_batches" / "20261201T060000Z-older000" / "app" / "users.csv", "older\n")
    _write(layout.landing / "_batches" / "20261202T060000Z-newer000" / "app" / "users.csv", "newer\n")
    BuildState(base=snapshots.current_snapshot_id(layout), status=OPEN, run_id="run-dead").save(layout)

    opened = open_build(layout, "run-3")

    assert opened.returned_files == [layout.landing / "app" / "users.csv"]
    assert (layout.landing / "app" / "users.csv").read_text() == "newer\n"
    assert (layout.landing / "_rejected" / "20261201T060000Z-older000" / "app" / "users.csv").read_text() == "older\n"


def test_a_run_failed_on_a_full_disk_gives_every_batch_back_newest_first(layout: Layout) -> None:
    _publish(layout, _build_run(layout, "run-1", 1), "run-1")
    state = _build_run(layout, "run-2", 2, batch="20261201T060000Z-older000")
    _write(layout.landing / "_batches" / "20261202T060000Z-newer000" / "app" / "users.csv", "newer\n")
    state.batches.append("20261202T060000Z-newer000")

    assert close_build(layout, state, failure="step load_sources failed (No space left on device)", disk_full=True) == []

    assert (layout.landing / "app" / "users.csv").read_text() == "newer\n"
    assert not layout.build.exists() and BuildState.load(layout).disk_full
    opened = open_build(layout, "run-3")
    assert opened.reset_because == "run run-2 failed on a full disk (step load_sources failed (No space left on device))"
    assert _answer(layout.build) == 1
