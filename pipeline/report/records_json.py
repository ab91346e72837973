"""A cycle's record lists as JSON text, written by polars.

The JSON report is `json.dumps(..., indent=2)` of the change set. At NCCI scale its
record lists hold 100,000 records, which Python's indenting encoder writes one value at a
time; here polars writes the same text, byte for byte, a column at a time. Field changes
(a few per changed record) are formatted in Python. A column of a type whose JSON text
polars might write differently from Python (floats, decimals, times) makes the caller
fall back to `json.dumps`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import polars as pl

from pipeline.diff.changeset import FieldChange, jsonable

_ENCODER = json.JSONEncoder(ensure_ascii=False)
#: A string as JSON text (Python's own C function, as `json.dumps(ensure_ascii=False)`).
_quote: Callable[[str], str] = json.encoder.encode_basestring
#: Types whose JSON text is polars' and Python's alike (dates as ISO text, as `jsonable`).
_PLAIN = (pl.String, pl.Boolean, pl.Date)


def records_json(
    frame: pl.DataFrame, key: Sequence[str], fields: pl.DataFrame | None, depth: int
) -> str | None:
    """The list of `frame`'s records, each with its field changes (`fields_table`), as
    `json.dumps(indent=2)` writes it at nesting `depth`; None if a column's type is not
    one this writes."""
    if frame.is_empty():
        return "[]"
    if "fields" in frame.columns or not all(
        t in _PLAIN or t.is_integer() for t in frame.schema.values()
    ):
        return None
    pad = "  " * (depth + 2)
    lines = [
        pl.lit(f"{pad}{_ENCODER.encode(name)}: ") + _value(name, dtype)
        for name, dtype in frame.schema.items()
    ]
    record = pl.concat_str(lines, separator=",\n")
    if fields is not None:
        texts = frame.select(key).join(
            fields, on=list(key), how="left", maintain_order="left", nulls_equal=True
        )
        frame = frame.with_columns(texts[_FIELDS])
        record = record + pl.col(_FIELDS).fill_null("")
    outer = "  " * (depth + 1)
    body = frame.select(pl.lit(f"{outer}{{\n") + record + pl.lit(f"\n{outer}}}")).to_series()
    return "[\n" + str(body.str.join(",\n").item()) + "\n" + "  " * depth + "]"


_FIELDS = "__fields"


def fields_table(
    key: Sequence[str],
    schema: Mapping[str, pl.DataType],
    fields: Mapping[tuple[Any, ...], Sequence[FieldChange]],
    depth: int,
) -> pl.DataFrame | None:
    """Each record's `"fields": {...}` member as JSON text (with its leading comma),
    by key, for records `depth` levels deep; None if no record has field changes."""
    wanted = {k: v for k, v in fields.items() if v}
    if not wanted:
        return None
    pad = "  " * (depth + 2)
    texts = [f',\n{pad}"fields": ' + _changes(changes, depth + 2) for changes in wanted.values()]
    return pl.DataFrame(
        {name: [k[i] for k in wanted] for i, name in enumerate(key)},
        schema={name: schema[name] for name in key},
    ).with_columns(pl.Series(_FIELDS, texts, dtype=pl.String))


def _changes(changes: Sequence[FieldChange], depth: int) -> str:
    """`json.dumps` of {name: change.to_dict()} at `depth`, the common shape spelt out."""
    inner, deeper = "  " * (depth + 1), "  " * (depth + 2)
    items = []
    for change in changes:
        name = _quote(change.name)
        if change.words is not None:
            items.append(f"{inner}{name}: {_indented(change.to_dict(), depth + 1)}")
            continue
        old, new = _scalar(change.old), _scalar(change.new)
        items.append(f'{inner}{name}: {{\n{deeper}"old": {old},\n{deeper}"new": {new}\n{inner}}}')
    return "{\n" + ",\n".join(items) + "\n" + "  " * depth + "}"


def _scalar(value: Any) -> str:
    if type(value) is str:
        return _quote(value)
    if value is None:
        return "null"
    return _ENCODER.encode(jsonable(value))


def _value(name: str, dtype: pl.DataType) -> pl.Expr:
    """A column's values as JSON text: polars escapes strings as Python's encoder does."""
    column = pl.col(name).cast(pl.String) if dtype == pl.Date else pl.col(name)
    encoded = pl.struct(column.alias("v")).struct.json_encode()
    return encoded.str.strip_prefix('{"v":').str.strip_suffix("}")


def _indented(value: Any, depth: int) -> str:
    """`json.dumps(value, indent=2)` as it reads nested `depth` levels deep."""
    if isinstance(value, dict):
        if not value:
            return "{}"
        inner = "  " * (depth + 1)
        items = ",\n".join(
            f"{inner}{_ENCODER.encode(str(k))}: {_indented(v, depth + 1)}" for k, v in value.items()
        )
        return "{\n" + items + "\n" + "  " * depth + "}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        inner = "  " * (depth + 1)
        items = ",\n".join(f"{inner}{_indented(v, depth + 1)}" for v in value)
        return "[\n" + items + "\n" + "  " * depth + "]"
    return _ENCODER.encode(jsonable(value))
