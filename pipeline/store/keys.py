"""A record's key as one 64-bit integer, so that editions sort and join on a machine word.

Joining millions of rows on text keys copies every string; codes are short and upper-case
alphanumeric, so each key column packs into a few bits. A column's text, padded with `0`
to its widest value, is read as a base-36 number and its length is packed beside it: `A`
and `A0` stay apart, and integer order is text order (nulls first, as polars sorts). The
columns combine arithmetically, first column most significant.

A key that does not pack (other characters, too long for 64 bits, not text) is hashed
instead. Hashes follow no useful order and may collide, and polars' hash changes between
polars versions, so they are only ever compared with hashes made by the same polars, and
callers check that matched hashes name the same key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import prod

import polars as pl

#: A character a packed code may not hold (a code with one is hashed instead).
_MISFIT = r"[^0-9A-Z]"
_BASE = 36
_LIMIT = 2**64


@dataclass(frozen=True)
class KeyPacking:
    """How a key's columns become one `UInt64`: packed at these widths, or hashed."""

    widths: tuple[int, ...] | None
    seed: int = 0

    @property
    def ordered(self) -> bool:
        """Whether integer order is the key's text order (packed, not hashed)."""
        return self.widths is not None

    def describe(self) -> str:
        """What a manifest records: `base36:5,5`, or `hash:<polars version>:<seed>`."""
        if self.widths is not None:
            return "base36:" + ",".join(map(str, self.widths))
        return f"hash:{pl.__version__}:{self.seed}"

    @classmethod
    def parse(cls, text: str) -> KeyPacking | None:
        """The packing a manifest describes, or None if this polars cannot reproduce it."""
        kind, _, rest = text.partition(":")
        if kind == "base36":
            return cls(tuple(int(w) for w in rest.split(",")))
        version, _, seed = rest.rpartition(":")
        if kind == "hash" and version == pl.__version__ and seed.isdigit():
            return cls(None, int(seed))
        return None

    def expr(self, key: Sequence[str], exact: Sequence[bool] | None = None) -> pl.Expr:
        """The packed (or hashed) key of each row, as `UInt64`.

        `exact[i]` says that column i holds no nulls and only values of its full width,
        which packs the same number with less work (no padding, no length).
        """
        if self.widths is None:
            return pl.struct(list(key)).hash(self.seed)
        exact = exact or [False] * len(key)
        packed: pl.Expr = pl.lit(0, pl.UInt64)
        for column, width, full in zip(key, self.widths, exact, strict=True):
            packed = packed * _range(width) + _pack_column(column, width, full)
        return packed

    def reseeded(self) -> KeyPacking:
        """The next hash seed, after a collision."""
        return KeyPacking(None, self.seed + 1)


@dataclass(frozen=True)
class PackedKeys:
    """An edition's keys, packed row for row, and how they were packed."""

    packing: KeyPacking
    values: pl.Series


def pack(frame: pl.DataFrame, key: Sequence[str], checked: Sequence[str] = ()) -> PackedKeys:
    """Pack `frame`'s keys with the packing that fits them. Columns in `checked` are known
    to hold only characters that pack (0-9, A-Z), which spares a scan of their text."""
    stats = _all_stats(frame, key, checked)
    packing = _packing(key, [[s] for s in stats])
    exact = [s is not None and s.shortest == s.longest and not s.nulls for s in stats]
    return PackedKeys(packing, frame.select(packing.expr(key, exact)).to_series())


def choose(frames: Sequence[pl.DataFrame], key: Sequence[str]) -> KeyPacking:
    """The packing that fits every frame's key: packed at the widest value if it fits."""
    return _packing(key, [[_stats(f, column) for f in frames] for column in key])


@dataclass(frozen=True)
class _Stats:
    """What packing needs to know of one text column."""

    shortest: int
    longest: int
    nulls: int


def _all_stats(
    frame: pl.DataFrame, key: Sequence[str], checked: Sequence[str] = ()
) -> list[_Stats | None]:
    """`_stats` of every key column, in one parallel pass over the frame."""
    text = [c for c in key if frame.schema[c] == pl.String]
    exprs = []
    for column in text:
        length = pl.col(column).str.len_bytes()
        misfit = pl.lit(False) if column in checked else pl.col(column).str.contains(_MISFIT).any()
        exprs += [
            length.min().alias(f"{column}\x00shortest"),
            length.max().alias(f"{column}\x00longest"),
            misfit.alias(f"{column}\x00misfit"),
            pl.col(column).null_count().alias(f"{column}\x00nulls"),
        ]
    found = frame.select(exprs).row(0, named=True) if exprs else {}
    stats: list[_Stats | None] = []
    for column in key:
        if column not in text or found[f"{column}\x00misfit"]:
            stats.append(None)
            continue
        shortest, longest = found[f"{column}\x00shortest"], found[f"{column}\x00longest"]
        stats.append(_Stats(shortest or 0, longest or 0, found[f"{column}\x00nulls"]))
    return stats


def _stats(frame: pl.DataFrame, column: str) -> _Stats | None:
    """Lengths and nulls of a key column, or None if it cannot pack (not text, or a
    character outside 0-9 and A-Z)."""
    if frame.schema[column] != pl.String:
        return None
    text = pl.col(column)
    shortest, longest, misfit = frame.select(
        text.str.len_bytes().min().alias("shortest"),
        text.str.len_bytes().max().alias("longest"),
        text.str.contains(_MISFIT).any().alias("misfit"),
    ).row(0)
    if misfit:
        return None
    return _Stats(shortest or 0, longest or 0, frame[column].null_count())


def _packing(key: Sequence[str], stats: Sequence[Sequence[_Stats | None]]) -> KeyPacking:
    widths = []
    for per_frame in stats:
        if any(s is None for s in per_frame):
            return KeyPacking(None)
        widths.append(max([1, *(s.longest for s in per_frame if s is not None)]))
    if prod(_range(w) for w in widths) >= _LIMIT:
        return KeyPacking(None)
    return KeyPacking(tuple(widths))


def _range(width: int) -> int:
    """How many values one column of `width` characters packs into: null, then
    (padded base-36 value, length) pairs."""
    return int(_BASE**width) * (width + 1) + 1


def _pack_column(column: str, width: int, exact: bool) -> pl.Expr:
    """1 + (padded base-36 value) * (width + 1) + length; 0 for null."""
    text = pl.col(column)
    if exact:
        return text.str.to_integer(base=_BASE).cast(pl.UInt64) * (width + 1) + (width + 1)
    value = text.str.pad_end(width, "0").str.to_integer(base=_BASE).cast(pl.UInt64)
    return (value * (width + 1) + text.str.len_bytes().cast(pl.UInt64) + 1).fill_null(0)


def row_hash(columns: Sequence[str | pl.Expr]) -> pl.Expr:
    """One hash of each row's values in `columns`: equal rows, equal hashes (same polars)."""
    if not columns:
        return pl.lit(0, pl.UInt64)
    return pl.struct(list(columns)).hash()
