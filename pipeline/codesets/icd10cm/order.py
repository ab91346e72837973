"""CDC/CMS's ICD-10-CM "order file" (icd10cm_order_YYYY.txt), a fixed-width list of every code.

Layout (from CDC's file description): order number 1-5, code 7-13 without the dot,
billable flag 15 (`1` a valid billing code, `0` a header such as a category),
short title 17-76, long title 78 to the end of the line.

Every non-blank line must fit that layout, so that a shifted, truncated or foreign
file is rejected with the line that does not fit rather than half-read. The frame's
columns are shared with the tabular XML reader (`icd10cm_xml`), so that editions
from either source compare like with like.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import polars as pl

from pipeline.errors import ConfigError, InputError
from pipeline.sources.base import RawSource, check_complete, decode_text
from pipeline.sources.coerce import LINE, refuse_first

if TYPE_CHECKING:
    from pipeline.spec import ReaderSpec

#: The canonical columns of both ICD-10-CM readers, in order (plus `_line`).
COLUMNS = ("code", "billable", "short_title", "long_title")
SCHEMA: dict[str, pl.DataType] = {
    LINE: pl.Int64(),
    "code": pl.String(),
    "billable": pl.Boolean(),
    "short_title": pl.String(),
    "long_title": pl.String(),
}

#: Columns 7-13: a code of 3 to 7 characters, starting with a letter, padded with blanks.
CODE_FIELD = r"[A-Z][0-9A-Z]{2}(?:[0-9A-Z]{4}|[0-9A-Z]{3} |[0-9A-Z]{2} {2}|[0-9A-Z] {3}| {4})"
#: Columns 1-16: order number, code, billable flag, each followed by a blank.
PREFIX = rf"^[0-9]{{5}} {CODE_FIELD} [01] "
SHORT_END = 76
LONG_START = 78


def headers_option(options: Mapping[str, Any]) -> bool:
    """The `headers` option: keep header (non-billable) codes too; off by default, since
    CDC's addenda count billable codes only."""
    value = options.get("headers", False)
    if type(value) is not bool:
        raise ConfigError(f"reader option headers: expected true or false, got {value!r}")
    return value


def read_order(raw: RawSource, reader: ReaderSpec) -> pl.DataFrame:
    """Read an order file into one row per code (billable only unless `headers = true`)."""
    headers = headers_option(reader.options)
    text = decode_text(raw, reader.encoding)
    lines = (
        pl.DataFrame({"text": text.split("\n")})
        .with_row_index(LINE, offset=1)
        .with_columns(pl.col(LINE).cast(pl.Int64), pl.col("text").str.strip_chars_end())
        .filter(pl.col("text") != "")
    )
    if lines.height == 0:
        raise InputError(raw.name, "no ICD-10-CM codes found (empty file?)")
    _check_layout(lines, raw.name)
    check_complete(raw)  # every line fits the layout, and yet the last title may be cut
    text_col = pl.col("text")
    frame = lines.select(
        LINE,
        text_col.str.slice(6, 7).str.strip_chars_end().alias("code"),
        (text_col.str.slice(14, 1) == "1").alias("billable"),
        text_col.str.slice(16, SHORT_END - 16).str.strip_chars().alias("short_title"),
        text_col.str.slice(LONG_START - 1).str.strip_chars().alias("long_title"),
    )
    if not headers:
        frame = frame.filter(pl.col("billable"))
    return frame.select(pl.col(name).cast(dtype) for name, dtype in SCHEMA.items())


def _check_layout(lines: pl.DataFrame, file: str) -> None:
    """Reject the first line that does not fit the layout, naming the field that is wrong."""
    text = pl.col("text")
    checks: list[tuple[pl.Expr, int, str]] = [
        (text.str.contains(r"^[0-9]{5} "), 1, "expected a 5-digit order number in columns 1-5"),
        (
            text.str.slice(6, 8).str.contains(rf"^{CODE_FIELD} $"),
            7,
            "expected a code in columns 7-13 (3 to 7 letters and digits, starting with a "
            "letter, no dot)",
        ),
        (
            text.str.contains(rf"{PREFIX}"),
            15,
            "expected the billable flag 0 or 1 in column 15, between blanks",
        ),
        (
            (text.str.len_chars() >= LONG_START) & (text.str.slice(SHORT_END, 1) == " "),
            LONG_START,
            f"expected a short title in columns 17-{SHORT_END} and a long title from column "
            f"{LONG_START} (ragged or truncated line?)",
        ),
    ]
    for ok, column, message in checks:
        bad = lines.filter(~ok)

        def said(row: dict[str, Any], what: str = message, count: int = bad.height) -> str:
            return f"{what}; found {row['text'][:60]!r} ({count} such line(s))"

        refuse_first(bad, file, said, column=column)


def sniff_order(raw: RawSource) -> bool:
    """An order file's first non-blank lines all start with order number, code and flag."""
    head = raw.data[:8192].decode("latin-1").lstrip("\xef\xbb\xbf").splitlines()
    if len(raw.data) > 8192:
        head = head[:-1]  # possibly cut short
    lines = [line for line in head if line.strip()][:5]
    pattern = re.compile(PREFIX)
    return bool(lines) and all(
        pattern.match(line) and len(line.rstrip()) >= LONG_START for line in lines
    )
