"""Readers for publishers' release files: one module per format.

`read_source` opens a file (or a zip member), hands it to the configured
reader, then applies what every format shares: column renaming, trimming,
types, required and unique keys. The result is sorted by key, so that stored
snapshots are in a canonical order.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import InputError
from pipeline.sources.base import RawSource, open_source
from pipeline.sources.registry import READER_FUNCTIONS

if TYPE_CHECKING:
    import polars as pl

    from pipeline.config import ReaderSpec

Reader = Callable[[RawSource, "ReaderSpec"], "pl.DataFrame"]


@dataclass(frozen=True)
class SourceData:
    """A release file read into a canonical frame, with where it came from."""

    frame: pl.DataFrame
    raw: RawSource
    reader: str


def reader_function(fmt: str) -> Reader:
    module, _, name = READER_FUNCTIONS[fmt].partition(":")
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
        from pipeline.sources.detect import detect

        fmt, raw = detect(path, reader.member, formats)
    else:
        raw = open_source(path, reader.member)
    frame = reader_function(fmt)(raw, reader)
    options: dict[str, Any] = dict(reader.options)
    columns = options.get("columns")
    if columns:
        frame = coerce.rename_columns(frame, columns, raw.name)
        keep = [c for c in frame.columns if c in columns.values() or c == coerce.LINE]
        frame = frame.select(keep)
    frame = coerce.tidy_strings(frame)
    coerce.check_not_empty(frame, raw.name)
    coerce.require_columns(frame, [*key, *required], raw.name)
    types = options.get("types") or {}
    if types:
        frame = coerce.apply_types(
            frame, types, raw.name, date_format=options.get("date_format", "%Y-%m-%d")
        )
    _check_keys_present(frame, key, raw.name)
    coerce.check_unique(frame, key, raw.name)
    if coerce.LINE in frame.columns:
        frame = frame.drop(coerce.LINE)
    return SourceData(frame=frame.sort(list(key)), raw=raw, reader=fmt)


def _check_keys_present(frame: pl.DataFrame, key: Sequence[str], file: str) -> None:
    import polars as pl

    from pipeline.sources.coerce import LINE

    # Only the first key column must be filled: later ones may be blank (a fee-schedule
    # row without a modifier is keyed by its code and a null modifier).
    for column in key[:1]:
        blank = frame.filter(pl.col(column).is_null())
        if blank.height:
            line = blank[LINE][0] if LINE in blank.columns else None
            raise InputError(file, "empty key value", line=line, column=column)
