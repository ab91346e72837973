"""CMS's NCCI procedure-to-procedure (PTP) edit tables, practitioner and hospital alike.

The layout (e.g. `ccipra-v322r0-f1.txt`): tab-delimited text with CRLF line ends; a
copyright line and a title line, then a column header spread over several lines
(`Column 1<TAB>Column 2<TAB>*=in existence ...`, continued by lines whose first cells
are empty), then one edit per line: column 1 code, column 2 code, `*` if the edit
existed before 1996, effective date and deletion date (YYYYMMDD, `*` = none),
modifier indicator and the edit's rationale.

Files hold about 2.5 million edits each, so the data part is parsed by polars in one
go and checked with expressions; the slow line-by-line scan runs only to explain an
error. A file that does not end with a line break was cut off inside its last record
(CMS's split parts and interrupted downloads do this) and is rejected.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NoReturn

import polars as pl

from pipeline.errors import InputError
from pipeline.sources.base import RawSource, check_line_lengths, decode_text
from pipeline.sources.coerce import LINE, Checks, check_values, parse_date, refuse_first

if TYPE_CHECKING:
    from pipeline.spec import ReaderSpec

#: What the modifier indicator allows: may a modifier bypass the edit?
MODIFIER_INDICATORS = {"0": "not allowed", "1": "allowed", "9": "not applicable"}

#: The snapshot's columns, in order.
COLUMNS = (
    "column1",
    "column2",
    "prior_1996",
    "effective_date",
    "deletion_date",
    "modifier_indicator",
    "rationale",
)
FIELDS = len(COLUMNS)
CODE = r"^[0-9A-Z]{5}$"
DATE = r"^[0-9]{8}$"
#: How far into the file the column header may be; it is on line 3 in every release.
MAX_PREAMBLE_LINES = 50

_HEADER = re.compile(rb"^column ?1\tcolumn ?2\t", re.IGNORECASE)
_RECORD = re.compile(rb"^[0-9A-Z]{5}\t[0-9A-Z]{5}\t", re.MULTILINE)
#: A cell that only a record has: a date, or a bare modifier indicator.
_DATA_CELL = re.compile(rb"(?:^|\t)(?:[0-9]{8}|[019])(?:\t|\r?$)")


def read_ptp(raw: RawSource, reader: ReaderSpec) -> pl.DataFrame:
    """Read a PTP edit table into one row per (column 1, column 2) pair."""
    check_line_lengths(raw)
    data = _utf8(raw, reader.encoding)
    start, skipped = _data_start(data, raw.name)
    stop = len(data)
    while stop > start and data[stop - 1] in b"\r\n":
        stop -= 1
    if stop == start:
        raise InputError(raw.name, "no edits after the column header (empty or truncated file?)")
    if b"\n" not in data[stop:]:
        raise InputError(
            raw.name,
            "last record does not end with a line break: the file is cut off (truncated "
            "download or an incomplete part?)",
            line=data.count(b"\n", 0, stop) + 1,
        )
    if data.count(b"\n", stop) > 1:
        data = data[:stop]  # blank lines at the end: rare, so the copy does not matter
    first = skipped + 1
    try:
        frame = pl.read_csv(
            data,
            has_header=False,
            separator="\t",
            quote_char=None,
            skip_lines=skipped,
            schema=dict.fromkeys(COLUMNS, pl.String),
            empty_string_is_null=False,
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as exc:
        _diagnose(data[start:stop], first, raw.name, str(exc).splitlines()[0])
    # polars rejects a line with too many fields but pads one with too few: the tab
    # count settles it, since polars splits lines at LF only.
    if data.count(b"\t", start, stop) != (FIELDS - 1) * frame.height:
        _diagnose(data[start:stop], first, raw.name, "malformed records")
    return _typed(frame.with_row_index(LINE, offset=first), raw.name)


def _utf8(raw: RawSource, encoding: str) -> bytes:
    """The file as UTF-8 for polars; CMS's files are ASCII, which needs no copy."""
    if raw.data.isascii() and b"\x00" not in raw.data:
        return raw.data
    return decode_text(raw, encoding).encode("utf-8")


def _data_start(data: bytes, file: str) -> tuple[int, int]:
    """Byte offset and 0-based line index of the first record.

    The header is the `Column 1<TAB>Column 2` line and the lines after it whose two
    code cells are empty and that hold no date or indicator (those would be a broken
    record, which must be reported rather than skipped); the first other line is data.
    """
    offset, seen_header = 0, False
    for index in range(MAX_PREAMBLE_LINES):
        end = data.find(b"\n", offset)
        line = data[offset : len(data) if end == -1 else end]
        if seen_header:
            continuation = line.startswith(b"\t\t") and not _DATA_CELL.search(line)
            if line.strip() and not continuation:
                return offset, index
        elif _HEADER.match(line):
            seen_header = True
        if end == -1:
            break
        offset = end + 1
    if seen_header:
        raise InputError(file, "no edits after the column header (empty or truncated file?)")
    raise InputError(
        file,
        f"no 'Column 1<TAB>Column 2' header in the first {MAX_PREAMBLE_LINES} lines: "
        "not an NCCI PTP edit table",
    )


def _diagnose(body: bytes, first: int, file: str, fallback: str) -> NoReturn:
    """Find the first line that is not a well-formed record (slow path: errors only)."""
    for number, line in enumerate(body.split(b"\n"), first):
        line = line.removesuffix(b"\r")
        fields = line.count(b"\t") + 1
        if fields != FIELDS:
            raise InputError(
                file, f"expected {FIELDS} tab-separated fields, found {fields}", line=number
            )
        if b"\r" in line:
            raise InputError(file, "carriage return inside a record", line=number)
    raise InputError(file, f"cannot parse the edits: {fallback}", line=first)


def _typed(frame: pl.DataFrame, file: str) -> pl.DataFrame:
    """Validate every field, then convert: the first bad value is reported."""
    deletion = pl.col("deletion_date")
    frame = _by_distinct(
        frame,
        "effective_date",
        _effective=parse_date(pl.col("effective_date"), "%Y%m%d"),
        _effective_shape=pl.col("effective_date").str.contains(DATE),
    )
    frame = _by_distinct(
        frame,
        "deletion_date",
        _deletion=parse_date(pl.when(deletion != "*").then(deletion), "%Y%m%d"),
        _deletion_shape=deletion.str.contains(DATE),
    )
    checks: Checks = {
        "column1": (pl.col("column1").str.contains(CODE), "is not a 5-character code"),
        "column2": (pl.col("column2").str.contains(CODE), "is not a 5-character code"),
        "prior_1996": (
            pl.col("prior_1996").is_in(["", "*"]),
            "is not '*' (in existence prior to 1996) or empty",
        ),
        "effective_date": (
            pl.col("_effective_shape") & pl.col("_effective").is_not_null(),
            "is not a date (YYYYMMDD)",
        ),
        "deletion_date": (
            (pl.col("deletion_date") == "*")
            | (pl.col("_deletion_shape") & pl.col("_deletion").is_not_null()),
            "is not a date (YYYYMMDD) or '*' (no deletion)",
        ),
        "modifier_indicator": (
            pl.col("modifier_indicator").is_in(list(MODIFIER_INDICATORS)),
            f"is not a modifier indicator ({', '.join(MODIFIER_INDICATORS)})",
        ),
        "rationale": (
            ~pl.col("rationale").str.contains("\r", literal=True),
            "holds a carriage return",
        ),
    }
    check_values(frame, checks, file)
    early = frame.filter(pl.col("_deletion") < pl.col("_effective"))
    refuse_first(
        early,
        file,
        lambda row: (
            f"deletion date {row['deletion_date']} is before the edit's effective "
            f"date {row['effective_date']} ({early.height} such edit(s))"
        ),
        column="deletion_date",
    )
    return frame.select(
        LINE,
        "column1",
        "column2",
        (pl.col("prior_1996") == "*").alias("prior_1996"),
        pl.col("_effective").alias("effective_date"),
        pl.col("_deletion").alias("deletion_date"),
        "modifier_indicator",
        "rationale",
    )


def _by_distinct(frame: pl.DataFrame, column: str, **derived: pl.Expr) -> pl.DataFrame:
    """`frame` with `derived` columns, computed once per distinct value of `column`.

    A table of 2.5 million edits holds a few thousand distinct dates: parsing and checking
    those and joining the results back costs a third of doing it row by row.
    """
    distinct = frame.select(pl.col(column).unique()).with_columns(**derived)
    values = frame.select(column).join(
        distinct, on=column, how="left", maintain_order="left", nulls_equal=True
    )
    return frame.hstack(values.drop(column))  # joining one column copies only that one


def sniff_ptp(raw: RawSource) -> bool:
    """A PTP table has its `Column 1<TAB>Column 2` header and a record in its first 8 KB."""
    head = raw.data[:8192]
    lines = head.splitlines()
    return any(_HEADER.match(line) for line in lines[:MAX_PREAMBLE_LINES]) and bool(
        _RECORD.search(head)
    )
