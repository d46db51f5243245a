"""File helpers shared by every writer of the platform."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable
from pathlib import Path

import polars as pl


def write_csv_atomically(frame: pl.DataFrame | Iterable[pl.DataFrame], path: Path) -> int:
    """Write one frame, or chunks of one table, as a CSV with a header; readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    chunks = [frame] if isinstance(frame, pl.DataFrame) else frame
    rows = 0
    with temporary.open("wb") as handle:
        for index, chunk in enumerate(chunks):
            chunk.write_csv(handle, include_header=index == 0, date_format="%Y-%m-%d")
            rows += chunk.height
    os.replace(temporary, path)
    return rows




# Linux's FICLONE ioctl: a copy-on-write clone, instant on btrfs, XFS (reflink) and ZFS (block cloning).
_FICLONE = 0x40049409


def copy_durably(source: Path, target: Path) -> str:
    """Copy a file and flush it to disk before returning; the target is replaced if it exists.

    Clones the file where the filesystem shares blocks (btrfs, XFS, ZFS), else copies it in the
    kernel (`sendfile`). Returns how: "clone" or "copy".
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    with source.open("rb") as reader, target.open("wb") as writer:
        try:
            fcntl.ioctl(writer.fileno(), _FICLONE, reader.fileno())
            how = "clone"
        except OSError:
            _sendfile(reader, writer)
            how = "copy"
        writer.flush()
        os.fsync(writer.fileno())
    return how


def _sendfile(reader, writer) -> None:  # noqa: ANN001 (binary file objects)
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
