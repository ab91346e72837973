"""Turn a reader's text columns into the canonical, typed frame, and check it.

Every reader yields string columns plus `_line` (the 1-based source line of
each record). Here they are trimmed, renamed, typed and validated, and any
failure names the file, line and column of the first bad value.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import polars as pl

from pipeline.errors import InputError

LINE = "_line"
TYPES = ("str", "int", "decimal", "date")


def tidy_strings(frame: pl.DataFrame, tidy: Collection[str] = ()) -> pl.DataFrame:
    """Strip surrounding blanks and turn empty strings into nulls, in every text column
    but those the reader delivers `tidy` already.

    Replacing empties costs a lookup per value, so only columns that have one pay it."""
    text = [c for c, t in frame.schema.items() if t == pl.String and c != LINE and c not in tidy]
    if not text:
        return frame
    stripped = frame.select(pl.col(c).str.strip_chars() for c in text)
    empty = stripped.select((pl.col(c).str.len_bytes() == 0).any() for c in text).row(0)
    return frame.with_columns(
        stripped[c].replace("", None) if has_empty else stripped[c]
        for c, has_empty in zip(text, empty, strict=True)
    )


def rename_columns(frame: pl.DataFrame, mapping: Mapping[str, str], file: str) -> pl.DataFrame:
    """Rename source headers to canonical names; a missing source header is an error."""
    targets = list(mapping.values())
    doubled = sorted({t for t in targets if targets.count(t) > 1})
    if doubled:
        raise InputError(file, f"`columns` maps several headers to {', '.join(doubled)}")
    missing = [src for src in mapping if src not in frame.columns]
    if missing:
        raise InputError(
            file,
            f"missing column(s) {', '.join(map(repr, missing))}; "
            f"found {', '.join(repr(c) for c in frame.columns if c != LINE)}",
        )
    return frame.rename(dict(mapping))


def require_columns(frame: pl.DataFrame, required: Sequence[str], file: str) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        found = ", ".join(repr(c) for c in frame.columns if c != LINE)
        raise InputError(
            file, f"missing required column(s) {', '.join(map(repr, missing))}; found {found}"
        )


def apply_types(
    frame: pl.DataFrame,
    types: Mapping[str, str],
    file: str,
    *,
    date_format: str = "%Y-%m-%d",
) -> pl.DataFrame:
    """Cast columns to their declared types, reporting the first value that does not parse."""
    for column, kind in types.items():
        if column not in frame.columns:
            found = ", ".join(repr(c) for c in frame.columns if c != LINE)
            raise InputError(file, f"`types` names column {column!r}, not in the file ({found})")
        if kind == "str":
            continue
        if kind == "int":
            expr = pl.col(column).cast(pl.Int64, strict=False)
            expected = "a whole number"
        elif kind == "decimal":
            scale = _decimal_scale(frame[column])
            plain = pl.col(column).str.contains(r"^[-+]?(\d+\.?\d*|\.\d+)$")
            expr = pl.when(plain).then(pl.col(column).str.to_decimal(scale=scale))
            expected = "a decimal number (digits and a point; no exponent)"
        elif kind == "date":
            expr = parse_date(pl.col(column), date_format)
            expected = f"a date as {date_format}"
        else:
            raise InputError(file, f"unknown type {kind!r} for column {column!r}")
        frame = _cast_checked(frame, column, expr, file, expected)
    return frame


#: Dates outside these years are typos or placeholders, not code-set dates.
YEARS = (1900, 2999)
_DATE_SHAPES = {"%Y%m%d": r"^\d{8}$", "%Y-%m-%d": r"^\d{4}-\d{2}-\d{2}$"}


def parse_date(text: pl.Expr, date_format: str) -> pl.Expr:
    """Text to date, null where it does not parse, has the wrong shape (a blank inside
    `20191 01`), or names an implausible year (`00000101`)."""
    parsed = text.str.to_date(date_format, strict=False)
    ok = parsed.dt.year().is_between(*YEARS)
    if shape := _DATE_SHAPES.get(date_format):
        ok = ok & text.str.contains(shape)
    return pl.when(ok).then(parsed)


def _decimal_scale(values: pl.Series) -> int:
    """Enough decimal places for every value, so that nothing is rounded."""
    frac = values.drop_nulls().str.extract(r"\.(\d+)$", 1).str.len_chars().max()
    return int(frac) if frac is not None else 0  # type: ignore[arg-type]


def _cast_checked(
    frame: pl.DataFrame, column: str, expr: pl.Expr, file: str, expected: str
) -> pl.DataFrame:
    try:
        cast = frame.with_columns(expr.alias("__cast"))
    except pl.exceptions.PolarsError:
        cast = frame.with_columns(pl.lit(None).alias("__cast"))
    bad = cast.filter(pl.col(column).is_not_null() & pl.col("__cast").is_null())
    if bad.height:
        first = bad.row(0, named=True)
        raise InputError(
            file,
            f"{first[column]!r} is not {expected} ({bad.height} bad value(s) in this column)",
            line=first.get(LINE),
            column=column,
        )
    return cast.with_columns(pl.col("__cast").alias(column)).drop("__cast")


def check_unique(frame: pl.DataFrame, key: Sequence[str], file: str) -> None:
    """Reject duplicate keys, listing the first ten with their lines."""
    dupes = frame.filter(pl.struct(key).is_duplicated())
    if not dupes.height:
        return
    has_line = LINE in frame.columns
    groups = (
        dupes.group_by(key, maintain_order=True)
        .agg(pl.col(LINE).sort() if has_line else pl.len())
        .head(10)
    )
    shown = []
    for row in groups.iter_rows(named=True):
        label = "/".join(str(row[k]) for k in key)
        if has_line:
            label += f" (lines {', '.join(map(str, row[LINE]))})"
        shown.append(label)
    count = dupes.select(pl.struct(key).n_unique()).item()
    more = f" and {count - 10} more" if count > 10 else ""
    raise InputError(file, f"duplicate key {'+'.join(key)}: {'; '.join(shown)}{more}")


def check_not_empty(frame: pl.DataFrame, file: str) -> None:
    if frame.height == 0:
        raise InputError(file, "no data records found (empty or truncated file?)")


Checks = dict[str, tuple[pl.Expr, str]]


def check_values(frame: pl.DataFrame, checks: Checks, file: str) -> None:
    """Every check (column -> (expression true for a good value, what a bad one is not))
    over the whole frame; the first bad value is reported with its line and column.

    One boolean per check first: only a failing file pays for the per-row masks."""
    passed = frame.select(check.all().alias(name) for name, (check, _) in checks.items())
    if all(passed.row(0)):
        return
    ok = frame.select(check.alias(name) for name, (check, _) in checks.items())
    bad = ok.select((~pl.all_horizontal(pl.all())).arg_true().first()).item()
    name, problem = next((n, p) for n, (_, p) in checks.items() if not ok[n][bad])
    count = ok.height - ok[name].sum()
    raise InputError(
        file,
        f"{frame[name][bad]!r} {problem} ({count} bad value(s) in this column)",
        line=frame[LINE][bad],
        column=name,
    )


def refuse_first(
    bad: pl.DataFrame,
    file: str,
    message: str | Callable[[dict[str, Any]], str],
    *,
    column: str | int | None = None,
) -> None:
    """The one value check: `bad` holds the rows that failed a check (found with polars);
    the first is reported with its line (and `column`), the message naming the value when
    it is a function of the row. Nothing happens when no row failed."""
    if not bad.height:
        return
    row = bad.row(0, named=True)
    text = message(row) if callable(message) else message
    raise InputError(file, text, line=row.get(LINE), column=column)
