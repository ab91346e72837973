"""Fixed-width text: each field at the character positions the publisher documents.

Positions are 1-based and inclusive, as record layouts print them (code in 7-13);
a field without `end` runs to the end of the line. They count characters, which
are bytes in the ASCII and Windows-1252 files that use this format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeGuard

import polars as pl

from pipeline.errors import ConfigError, InputError
from pipeline.sources.base import RawSource, decode_text
from pipeline.sources.coerce import LINE
from pipeline.sources.delimited import count_option

if TYPE_CHECKING:
    from pipeline.spec import ReaderSpec


@dataclass(frozen=True)
class Field:
    name: str
    start: int
    end: int | None  # None: to the end of the line


def read(raw: RawSource, reader: ReaderSpec) -> pl.DataFrame:
    """Slice every non-blank line into the configured fields, keeping its line number."""
    fields = parse_fields(reader.options.get("fields"))
    skip = count_option(reader.options, "skip_lines", "fixed-width reader")
    lines = pl.Series("text", decode_text(raw, reader.encoding).split("\n"), dtype=pl.String)
    frame = pl.DataFrame([lines]).with_row_index(LINE, offset=1).slice(skip)
    frame = frame.filter(pl.col("text").str.strip_chars() != "")
    if all(f.end is not None for f in fields):
        last = max(f.end for f in fields if f.end is not None)
        over = frame.filter(pl.col("text").str.slice(last).str.strip_chars() != "")
        if over.height:
            extra = over["text"][0][last:].strip()
            message = f"text past position {last}, where the last field ends: {extra[:40]!r}"
            raise InputError(raw.name, message, line=int(over[LINE][0]), column=last + 1)
    return frame.select(
        *(pl.col("text").str.slice(f.start - 1, _length(f)).alias(f.name) for f in fields),
        pl.col(LINE).cast(pl.Int64),
    )


def parse_fields(spec: Any) -> list[Field]:
    """Check the layout: the configuration checks only that `fields` is there."""
    where = "fixed-width reader: fields"
    if not isinstance(spec, list) or not spec:
        raise ConfigError(f"{where} must be a list of {{name, start, end}} tables, got {spec!r}")
    fields: list[Field] = []
    for i, item in enumerate(spec):
        at = f"{where}[{i}]"
        if not isinstance(item, Mapping) or set(item) - {"name", "start", "end"}:
            raise ConfigError(f"{at}: expected a table of name, start and end, got {item!r}")
        name, start, end = (item.get(key) for key in ("name", "start", "end"))
        if not isinstance(name, str) or not name.strip() or name == LINE:
            raise ConfigError(f"{at}: name must be a non-empty string (not {LINE!r}), got {name!r}")
        if any(f.name == name for f in fields):
            raise ConfigError(f"{at}: two fields are named {name!r}")
        if not _whole(start) or start < 1:
            raise ConfigError(f"{at} ({name}): start must be a position >= 1, got {start!r}")
        if end is not None and (not _whole(end) or end < start):
            raise ConfigError(
                f"{at} ({name}): end must be a position >= start {start}, got {end!r}"
            )
        fields.append(Field(name, start, end))
    return fields


def _whole(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _length(field: Field) -> int | None:
    return None if field.end is None else field.end - field.start + 1
