"""File helpers shared by every writer of the platform."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

# The formats a table file may be written in, by file suffix.
TABLE_FORMATS = ("csv", "parquet")
# Chunks handed to the writer thread and not yet written; bounds the memory a fast producer takes.
_CHUNKS_IN_FLIGHT = 2


class _TableFile:
    """One table written chunk by chunk to a temporary file beside `path`, renamed into place by
    `publish`: CSV with a header (polars' multithreaded writer), or Parquet with a row group per
    chunk (LZ4, no dictionary: ids do not repeat, and writing stays cheap)."""

    def __init__(self, path: Path) -> None:
        if path.suffix.lstrip(".") not in TABLE_FORMATS:
            raise ValueError(f"{path}: cannot write a table as {path.suffix!r}; expected one of {', '.join(TABLE_FORMATS)}")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.rows = path, 0
        self.temporary = path.with_name(f".{path.name}.tmp")
        self._csv = self.temporary.open("wb") if path.suffix == ".csv" else None
        self._parquet: pq.ParquetWriter | None = None

    def write(self, frame: pl.DataFrame) -> None:
        if self._csv is not None:
            frame.write_csv(self._csv, include_header=self.rows == 0 and self._csv.tell() == 0, date_format="%Y-%m-%d")
        else:
            table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.temporary, table.schema, compression="lz4", use_dictionary=False)
            self._parquet.write_table(table)
        self.rows += frame.height

    def close(self) -> None:
        if self._csv is not None:
            self._csv.close()
        elif self._parquet is not None:
            self._parquet.close()
        else:
            pl.DataFrame().write_parquet(self.temporary)

    def publish(self) -> None:
        os.replace(self.temporary, self.path)

    def discard(self) -> None:
        """Remove the temporary file, even when closing it fails (a full disk fails the flush)."""
        try:
            self.close()
        except OSError:
            pass
        finally:
            self.temporary.unlink(missing_ok=True)


def write_tables_atomically(chunks: Iterable[tuple[str, pl.DataFrame]], paths: Mapping[str, Path]) -> dict[str, int]:
    """Write `(table, chunk)` pairs to each table's file in `paths`; returns the rows per table.

    The chunks of a table are written in the order they come, by one writer thread, while the
    caller produces the next ones (at most a couple wait, so memory stays bounded). The files
    appear only once every chunk is written, each renamed into place: readers never see half a
    file, and a failure leaves the previous files as they were.
    """
    files = {table: _TableFile(path) for table, path in paths.items()}
    pending: deque[Future] = deque()
    # A full disk names the folder the tables were being written to.
    where = Path(os.path.commonpath([str(path) for path in paths.values()])) if paths else Path.cwd()
    try:
        with explaining_full_disk(where), ThreadPoolExecutor(max_workers=1, thread_name_prefix="table-writer") as writer:
            for table, chunk in chunks:
                pending.append(writer.submit(files[table].write, chunk))
                while len(pending) > _CHUNKS_IN_FLIGHT or (pending and pending[0].done()):
                    pending.popleft().result()
            while pending:
                pending.popleft().result()
            for file in files.values():
                file.close()
    except BaseException:
        for file in files.values():
            file.discard()
        raise
    for file in files.values():
        file.publish()
    return {table: file.rows for table, file in files.items()}


def write_table_atomically(frame: pl.DataFrame | Iterable[pl.DataFrame], path: Path) -> int:
    """Write one frame, or chunks of one table, as CSV or Parquet (by `path`'s suffix); readers
    never see half a file."""
    chunks = [frame] if isinstance(frame, pl.DataFrame) else frame
    return write_tables_atomically((("table", chunk) for chunk in chunks), {"table": path})["table"]


class DiskFullError(OSError):
    """No space left on the device: says which path was being written, how much its file system
    has free, and how much was needed when that is known."""

    def __init__(self, path: Path, needed: int | None = None) -> None:
        free = free_bytes(path)
        shown_free = "an unknown amount" if free is None else human_size(free)
        shown_needed = f"; about {human_size(needed)} needed" if needed else ""
        super().__init__(errno.ENOSPC, f"No space left on device writing {path}: {shown_free} free there{shown_needed}")
        self.path, self.needed, self.free = path, needed, free

    def __str__(self) -> str:
        return self.strerror


def free_bytes(path: Path) -> int | None:
    """The free space of the file system holding `path` (or its nearest existing folder)."""
    for folder in (path, *path.parents):
        if folder.exists():
            try:
                return shutil.disk_usage(folder).free
            except OSError:
                return None
    return None


def human_size(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def is_disk_full(error: BaseException) -> bool:
    """Whether `error` (an OSError, or an engine's error carrying its message) is a full disk."""
    return (isinstance(error, OSError) and error.errno == errno.ENOSPC) or "No space left on device" in str(error)


@contextlib.contextmanager
def explaining_full_disk(path: Path, needed: int | None = None) -> Iterator[None]:
    """Turn a full disk met while writing `path` into a `DiskFullError` naming it and the space."""
    try:
        yield
    except DiskFullError:
        raise
    except OSError as error:
        if not is_disk_full(error):
            raise
        raise DiskFullError(path, needed) from error


# Linux's FICLONE ioctl: a copy-on-write clone, instant on btrfs, XFS (reflink) and ZFS (block cloning).
_FICLONE = 0x40049409


def copy_durably(source: Path, target: Path) -> str:
    """Copy a file and flush it to disk before returning; the target is replaced if it exists.

    Clones the file where the filesystem shares blocks (btrfs, XFS, ZFS), else copies it in the
    kernel (`sendfile`). Returns how: "clone" or "copy".
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    with explaining_full_disk(target, needed=source.stat().st_size), source.open("rb") as reader, target.open("wb") as writer:
        try:
            fcntl.ioctl(writer.fileno(), _FICLONE, reader.fileno())
            how = "clone"
        except OSError:
            _sendfile(reader, writer)
            how = "copy"
        writer.flush()
        os.fsync(writer.fileno())
    return how


def _sendfile(reader, writer) -> None:
    """Copy in the kernel, without passing the bytes through Python."""
    size, offset = os.fstat(reader.fileno()).st_size, 0
    while offset < size:
        sent = os.sendfile(writer.fileno(), reader.fileno(), offset, min(size - offset, 1 << 30))
        if sent == 0:
            break
        offset += sent


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename or a new file in it) to disk."""
    handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def link_or_copy(source: Path, target: Path) -> None:
    """Put `source` at `target` atomically (replacing it): a hard link where both are on the same
    filesystem, else a copy. Readers of `target` see the old file or the new one, never half."""
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.unlink(missing_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, temporary)
    except OSError:
        copy_durably(source, temporary)
    os.replace(temporary, target)
