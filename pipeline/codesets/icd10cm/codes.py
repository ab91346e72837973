"""CDC/CMS's ICD-10-CM "code descriptions" file (icd10cm-codes-YYYY.txt, icd10cm_codes_YYYY.txt).

Each fiscal year's release zip holds it beside the order file and the tabular: every
billable code, one per line, the code (no dot) padded with blanks to 8 characters, then
its long title (ASCII, CRLF). It has no header codes and no short titles, so its frame has
the other ICD-10-CM readers' columns with `billable` always true and `short_title` null:
an edition read from it compares like with like with one read from the tabular XML.

A file that does not end with a line break is refused as truncated (the publisher's end
every line with CRLF): the last title would otherwise be taken as complete.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import polars as pl

from pipeline.codesets.icd10cm.order import CODE_FIELD, SCHEMA, headers_option
from pipeline.errors import ConfigError, InputError
from pipeline.sources.base import RawSource, decode_text
from pipeline.sources.coerce import LINE, refuse_first

if TYPE_CHECKING:
    from pipeline.spec import ReaderSpec


#: A code-descriptions line: the code in columns 1-7, a blank in 8, the long title from 9.
CODES_LINE = rf"^{CODE_FIELD} \S"
CODES_TITLE = 9


def read(raw: RawSource, reader: ReaderSpec) -> pl.DataFrame:
    """Read a code-descriptions file (icd10cm-codes-YYYY.txt): every billable code, one per
    line, with its long title. It has no header codes and no short titles."""
    if headers_option(reader.options):
        raise ConfigError(
            f"{raw.name}: a code-descriptions file lists billable codes only; "
            "headers = true needs the order file or the tabular XML"
        )
    text = decode_text(raw, reader.encoding)
    if text and not text.endswith("\n"):
        raise InputError(
            raw.name,
            "the last line does not end with a line break (truncated file?)",
            line=text.count("\n") + 1,
        )
    lines = (
        pl.DataFrame({"text": text.split("\n")})
        .with_row_index(LINE, offset=1)
        .with_columns(pl.col(LINE).cast(pl.Int64), pl.col("text").str.strip_chars_end())
        .filter(pl.col("text") != "")
    )
    if lines.height == 0:
        raise InputError(raw.name, "no ICD-10-CM codes found (empty file?)")
    text_col = pl.col("text")
    checks: list[tuple[pl.Expr, int, str]] = [
        (
            text_col.str.pad_end(8).str.slice(0, 8).str.contains(rf"^{CODE_FIELD} $"),
            1,
            "expected a code in columns 1-7 (3 to 7 letters and digits, starting with a "
            "letter, no dot) and a blank in column 8",
        ),
        (
            text_col.str.contains(CODES_LINE),
            CODES_TITLE,
            f"expected the title from column {CODES_TITLE} (missing or shifted?)",
        ),
    ]
    for ok, column, message in checks:
        bad = lines.filter(~ok)
        found = f"{message}; found '{{text:.60}}' ({bad.height} such line(s))"
        refuse_first(bad, raw.name, _says(found), column=column)
    frame = lines.select(
        LINE,
        text_col.str.slice(0, 7).str.strip_chars_end().alias("code"),
        pl.lit(True).alias("billable"),
        pl.lit(None, dtype=pl.String).alias("short_title"),
        text_col.str.slice(CODES_TITLE - 1).str.strip_chars().alias("long_title"),
    )
    return frame.select(pl.col(name).cast(dtype) for name, dtype in SCHEMA.items())


def _says(template: str) -> Callable[[dict[str, Any]], str]:
    return lambda row: template.format(**row)


def sniff(raw: RawSource) -> bool:
    """A code-descriptions file's first non-blank lines are all code, blank, title."""
    head = raw.data[:8192].decode("latin-1").lstrip("\xef\xbb\xbf").splitlines()
    if len(raw.data) > 8192:
        head = head[:-1]  # possibly cut short
    lines = [line for line in head if line.strip()][:5]
    pattern = re.compile(CODES_LINE)
    return bool(lines) and all(pattern.match(line) for line in lines)
