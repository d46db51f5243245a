"""Ids and amounts built from raw bytes and integer cents, without a detour through Python values."""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

from jump_platform.sources.contracts import AMOUNT_DTYPE
from jump_platform.sources.generator.params import STREAMS, GeneratorParams

# The two hex digits of every byte value, as one little-endian uint16.
_HEX_PAIRS = np.array([ord(a) | ord(b) << 8 for a in "0123456789abcdef" for b in "0123456789abcdef"], dtype="<u2")
_VARIANTS = np.frombuffer(b"89ab", dtype=np.uint8)


def format_uuids(raw: np.ndarray) -> pl.Series:
    """Version-4 UUIDs as text from 16 random bytes per row (`raw`, shape (n, 16), uint8).

    Hex digit 12 becomes the version `4`, digit 16 the variant (8, 9, a or b, from that digit's low
    bits); the text is assembled as bytes and handed to polars as one Arrow buffer.
    """
    n = raw.shape[0]
    hexes = _HEX_PAIRS[raw].view(np.uint8)  # (n, 32) hex digits
    text = np.empty((n, 36), np.uint8)
    text[:, 0:8] = hexes[:, 0:8]
    text[:, 9:13] = hexes[:, 8:12]
    text[:, 14] = ord("4")
    text[:, 15:18] = hexes[:, 13:16]
    text[:, 19] = _VARIANTS[(raw[:, 8] >> 4) & 3]
    text[:, 20:23] = hexes[:, 17:20]
    text[:, 24:36] = hexes[:, 20:32]
    text[:, [8, 13, 18, 23]] = ord("-")
    offsets = np.arange(0, 36 * (n + 1), 36, dtype=np.int32)
    return pl.Series(pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(text.reshape(-1))))


def random_uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    """The raw bytes of `n` random UUIDs drawn from `rng` (format them with `format_uuids`)."""
    return np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16)


def _mix64(words: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: a bijection of uint64 that looks random."""
    words = (words ^ (words >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    words = (words ^ (words >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return words ^ (words >> np.uint64(31))


def counter_ids(params: GeneratorParams, table: str, numbers: np.ndarray) -> pl.Series:
    """The UUIDs of rows `numbers` (0, 1, ...) of `table`: a function of the seed and the row number
    alone, so that any row's id can be told without keeping the table. Row numbers that differ give
    first halves that differ (a bijection of the number)."""
    keys = np.random.SeedSequence([params.seed, STREAMS["ids"], STREAMS[table]]).generate_state(2, np.uint64)
    weyl = numbers.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    halves = np.stack([_mix64(weyl + keys[0]), _mix64(weyl + keys[1])], axis=1).astype(">u8")
    return format_uuids(halves.view(np.uint8).reshape(-1, 16))


def amounts(cents: np.ndarray) -> pl.Series:
    """Exact 2-decimal amounts from integer cents: the cents are the decimal's own integer."""
    words = np.empty((cents.size, 2), np.int64)  # little-endian 128-bit integers
    words[:, 0] = cents
    words[:, 1] = cents >> 63
    arrow = pa.Array.from_buffers(
        pa.decimal128(AMOUNT_DTYPE.precision, AMOUNT_DTYPE.scale), cents.size, [None, pa.py_buffer(words)]
    )
    return pl.Series(arrow)
