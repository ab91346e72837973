"""Readers for publishers' release files: one module per format.

`read_source` opens a file (or a zip member), hands it to the configured
reader, then applies what every format shares: column renaming, trimming,
types, required and unique keys. The result is sorted by key, so that stored
snapshots are in a canonical order.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import InputError
from pipeline.sources.base import RawSource, open_source

if TYPE_CHECKING:
    import polars as pl

    from pipeline.spec import ReaderSpec
    from pipeline.store.keys import PackedKeys

Reader = Callable[[RawSource, "ReaderSpec"], "pl.DataFrame"]


@dataclass(frozen=True)
class SourceData:
    """A release file read into a canonical frame, with where it came from."""

    frame: pl.DataFrame
    #: Where the data came from (its bytes are released once parsed: `raw.data` is empty).
    raw: RawSource
    reader: str
    #: The frame's keys, packed row for row (see `pipeline.keys`), for the store's index.
    keys: PackedKeys | None = None


def reader_function(fmt: str) -> Reader:
    from pipeline.codesets import formats

    module, _, name = formats()[fmt].reader.partition(":")
    func: Reader = getattr(importlib.import_module(module), name)
    return func


def read_source(
    path: Path,
    reader: ReaderSpec,
    key: Sequence[str],
    required: Sequence[str] = (),
    formats: Sequence[str] = (),
) -> SourceData:
    """Read one edition's release file into a validated frame sorted by `key`.

    With reader format `auto`, the format is detected among `formats` (or all
    detectable formats) from the file's content.
    """
    from pipeline.sources import coerce

    fmt = reader.format
    if fmt == "auto":
        from pipeline.codesets.detect import detect

        fmt, raw = detect(path, reader.member, formats)
    else:
        raw = open_source(path, reader.member)
    frame = reader_function(fmt)(raw, reader)
    # Parsed: let the file's bytes go now rather than once the snapshot is written (a PTP
    # table is 170 MB of text, and what follows allocates as much again).
    raw = dataclasses.replace(raw, data=b"")
    options: dict[str, Any] = dict(reader.options)
    columns = options.get("columns")
    if columns:
        frame = coerce.rename_columns(frame, columns, raw.name)
        keep = [c for c in frame.columns if c in columns.values() or c == coerce.LINE]
        frame = frame.select(keep)
    frame = coerce.tidy_strings(frame)
    _check_field_lengths(frame, raw.name)
    coerce.check_not_empty(frame, raw.name)
    coerce.require_columns(frame, [*key, *required], raw.name)
    types = options.get("types") or {}
    if types:
        frame = coerce.apply_types(
            frame, types, raw.name, date_format=options.get("date_format", "%Y-%m-%d")
        )
    _check_keys_present(frame, key, raw.name)
    frame, keys = _unique_and_sorted(frame, key, raw.name)
    return SourceData(frame=frame, raw=raw, reader=fmt, keys=keys)


def _unique_and_sorted(
    frame: pl.DataFrame, key: Sequence[str], file: str
) -> tuple[pl.DataFrame, PackedKeys]:
    """Refuse duplicate keys, drop the line numbers and sort by key, all on the packed key.

    A packed key sorts in key order, so both checks are one pass over integers, and a file
    that comes sorted (CMS's do) is not moved at all. Duplicates found this way (or hash
    collisions, when the key does not pack) go to `check_unique`, which names them.
    """
    import polars as pl

    from pipeline.sources import coerce
    from pipeline.store.keys import PackedKeys, pack

    packed = pack(frame, key)
    values = packed.values
    if packed.packing.ordered:
        ordered = values if values.is_sorted() else values.sort()
        if ordered.len() > 1 and (ordered.slice(1) == ordered.slice(0, ordered.len() - 1)).any():
            coerce.check_unique(frame, key, file)
    elif values.is_duplicated().any():
        coerce.check_unique(frame, key, file)  # raises, unless two keys share a hash
    if coerce.LINE in frame.columns:
        frame = frame.drop(coerce.LINE)
    if packed.packing.ordered and values.is_sorted():
        return frame, PackedKeys(packed.packing, values.set_sorted())
    order = (
        values.arg_sort()
        if packed.packing.ordered
        else frame.select(
            pl.int_range(pl.len(), dtype=pl.UInt32).sort_by(list(key), nulls_last=False)
        ).to_series()
    )
    return frame[order], PackedKeys(packed.packing, values[order])


def _check_keys_present(frame: pl.DataFrame, key: Sequence[str], file: str) -> None:
    import polars as pl

    from pipeline.sources.coerce import LINE

    # Only the first key column must be filled: later ones may be blank (a fee-schedule
    # row without a modifier is keyed by its code and a null modifier).
    for column in key[:1]:
        if not frame[column].null_count():
            continue
        blank = frame.filter(pl.col(column).is_null())
        if blank.height:
            line = blank[LINE][0] if LINE in blank.columns else None
            raise InputError(file, "empty key value", line=line, column=column)


def _check_field_lengths(frame: pl.DataFrame, file: str) -> None:
    """Refuse a text field over `MAX_FIELD_CHARS`: no release has one, and its reports would
    be as large as the field times the rows that show it."""
    import polars as pl

    from pipeline.sources.base import MAX_FIELD_CHARS
    from pipeline.sources.coerce import LINE

    text = [c for c, t in frame.schema.items() if t == pl.String and c != LINE]
    if not text or not frame.height:
        return
    longest = frame.select(pl.col(text).str.len_chars().max()).row(0, named=True)
    for column in text:
        if (longest[column] or 0) <= MAX_FIELD_CHARS:
            continue
        over = frame.filter(pl.col(column).str.len_chars() > MAX_FIELD_CHARS)
        line = over[LINE][0] if LINE in over.columns else None
        raise InputError(
            file,
            f"field of {longest[column]:,} characters, over the {MAX_FIELD_CHARS:,}-character "
            "limit (no release comes near it: a damaged file?)",
            line=line,
            column=column,
        )
