"""Reading a claims file: one CSV of claim lines, checked before anything is judged.

Columns (header names, any order):

- required: `claim_id` (opaque), `date_of_service` (YYYY-MM-DD or MM/DD/YYYY), `code`
  (a CPT or HCPCS Level II code), `modifiers` (up to four two-character modifiers,
  separated by spaces, commas, `;`, `:` or `|`; may be empty), `units` (a whole number,
  1 or more);
- optional: `diagnosis_codes` (ICD-10-CM codes, dotted or not, separated like the
  modifiers), `place_of_service` (two digits) and `charge` (dollars and cents).

A column the check does not know is **refused by name**, not dropped: claims exports
often carry patient names or member ids, and a file that silently loses columns hides
that it carried them. Remove the column (the check needs no patient identifiers) and
run again. Nothing but the columns above is kept, so nothing else can reach a report.

Every problem is one `InputError` naming the file, line and column of the first bad
value; nothing is judged until the whole file has passed.
"""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path
from typing import NoReturn

import polars as pl

from pipeline.errors import InputError
from pipeline.sources.coerce import LINE, Checks, check_values

REQUIRED = ("claim_id", "date_of_service", "code", "modifiers", "units")
OPTIONAL = ("diagnosis_codes", "place_of_service", "charge")
COLUMNS = REQUIRED + OPTIONAL
MAX_MODIFIERS = 4
#: CPT (Level I: five digits, or four and a letter for categories II, III and PLA codes)
#: and HCPCS Level II (a letter and four digits).
CPT = r"^[0-9]{4}[0-9A-Z]$"
LEVEL2 = r"^[A-V][0-9]{4}$"
CODE = r"^(?:[0-9]{4}[0-9A-Z]|[A-V][0-9]{4})$"
SEPARATORS = r"[\s,;:|]+"
_SEP = r"[\s,;:|]"
#: ICD-10-CM: a letter, a digit, a letter or digit, then up to four more; a dot may follow
#: the third character.
_ICD_CODE = r"[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?"
#: A whole cell of up to four modifiers, or of diagnosis codes, checked in one match.
_MODIFIERS_CELL = rf"^{_SEP}*(?:[0-9A-Z]{{2}}(?:{_SEP}+[0-9A-Z]{{2}}){{0,3}})?{_SEP}*$"
_DIAGNOSES_CELL = rf"^{_SEP}*(?:{_ICD_CODE}(?:{_SEP}+{_ICD_CODE})*)?{_SEP}*$"
_ISO = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_US = r"^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}$"


def read_claims(path: Path) -> pl.DataFrame:
    """The claim lines of `path`, typed: `_line`, `claim_id`, `date_of_service` (date),
    `code`, `modifiers` (list of str), `units` (int), `diagnosis_codes` (list of str),
    `place_of_service`, `charge` (decimal). Missing optional columns are null."""
    name = path.name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(str(path), "file not found") from None
    except IsADirectoryError:
        raise InputError(str(path), "is a directory, expected a claims CSV") from None
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror}") from None
    text = _decode(data, name)
    if not text.strip():
        raise InputError(name, "file is empty: expected a header and claim lines")
    frame = _parse(text, name, data)
    return _typed(frame, name)


def _decode(data: bytes, name: str) -> str:
    """UTF-8 (a BOM is fine); anything else is refused with the line of the first bad byte."""
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    nul = data.find(b"\x00")
    if nul != -1:
        line = data.count(b"\n", 0, nul) + 1
        raise InputError(name, "binary data (a NUL byte): not a CSV text file", line=line)
    try:
        text = data[start:].decode("utf-8")
    except UnicodeDecodeError as exc:
        at = start + exc.start
        line = data.count(b"\n", 0, at) + 1
        column = at - (data.rfind(b"\n", 0, at) + 1) + 1
        raise InputError(
            name,
            f"byte 0x{data[at]:02x} is not UTF-8 text: save the file as UTF-8",
            line=line,
            column=column,
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _parse(text: str, name: str, data: bytes | None = None) -> pl.DataFrame:
    """The CSV's cells as text. Polars reads the bytes when they are UTF-8 with LF or CRLF
    line ends (the text, already decoded to check it, otherwise)."""
    header_line = text.split("\n", 1)[0]
    if data is not None and data.count(b"\r") == data.count(b"\r\n"):
        source: io.StringIO | bytes = data.removeprefix(codecs.BOM_UTF8)
    else:
        source = io.StringIO(text)
    try:
        frame = pl.read_csv(
            source,
            infer_schema=False,
            has_header=True,
            raise_if_empty=False,
            truncate_ragged_lines=False,
        )
    except pl.exceptions.PolarsError as exc:
        _diagnose(text, name, str(exc).splitlines()[0])
    headers = [h.strip().lower() for h in frame.columns]
    for index, header in enumerate(headers, 1):
        if header not in COLUMNS:
            raise InputError(
                name,
                f"unknown column {frame.columns[index - 1]!r}: the check reads only "
                f"{', '.join(COLUMNS)}; remove it (claims need no patient identifiers)",
                line=1,
                column=index,
            )
        if headers.index(header) != index - 1:
            raise InputError(name, f"column {header!r} appears twice", line=1, column=index)
    missing = [c for c in REQUIRED if c not in headers]
    if missing:
        raise InputError(
            name,
            f"missing column(s) {', '.join(map(repr, missing))}; found {header_line.strip()!r}",
            line=1,
        )
    frame.columns = headers
    if frame.height == 0:
        raise InputError(name, "no claim lines after the header", line=2)
    lines = text.rstrip("\n").count("\n")
    if lines != frame.height:
        raise InputError(
            name,
            "a quoted cell spans several lines: one claim line per text line, please",
            line=_first_multiline(text),
        )
    padded = frame.select(
        (c.str.starts_with(" ") | c.str.ends_with(" ") | c.str.contains("\t", literal=True)).any()
        for c in map(pl.col, frame.columns)
    ).row(0)
    frame = frame.with_columns(
        pl.col(c).str.strip_chars() for c, pad in zip(frame.columns, padded, strict=True) if pad
    )
    frame = frame.with_columns(pl.when(pl.col(c) != "").then(pl.col(c)) for c in frame.columns)
    frame = frame.with_columns(
        pl.lit(None, pl.String).alias(c) for c in OPTIONAL if c not in frame.columns
    )
    return frame.select(COLUMNS).with_row_index(LINE, offset=2)


def _diagnose(text: str, name: str, fallback: str) -> NoReturn:
    """Find the first record whose field count differs from the header's (errors only)."""
    rows = csv.reader(io.StringIO(text))
    width = len(next(rows, []))
    for row in rows:
        if len(row) != width:
            raise InputError(
                name,
                f"expected {width} comma-separated fields, found {len(row)}",
                line=rows.line_num,
            )
    raise InputError(name, f"not a readable CSV ({fallback})")


def _first_multiline(text: str) -> int:
    quoted = False
    line = 1
    for char in text:
        if char == '"':
            quoted = not quoted
        elif char == "\n":
            if quoted:
                return line
            line += 1
    return line


def _split(frame: pl.DataFrame, column: str, drop: str = "") -> pl.Series:
    """A checked column of codes as lists (an empty cell: an empty list). The separators are
    normalised only if the file uses others than single spaces (most files do not)."""
    text = pl.col(column)
    if drop:
        text = text.str.replace_all(drop, "", literal=True)
    if frame.select(pl.col(column).str.contains(r"[,;:|\t]|  |^ | $").any()).item():
        text = text.str.replace_all(SEPARATORS, " ").str.strip_chars().replace("", None)
    return frame.select(text.str.split(" ").fill_null(pl.lit([], pl.List(pl.String))))[column]


def _typed(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    dos = pl.col("date_of_service")
    frame = frame.with_columns(
        pl.when(dos.str.contains(_ISO))
        .then(dos.str.to_date("%Y-%m-%d", strict=False))
        .alias("_date"),
        pl.col("code", "modifiers", "diagnosis_codes").str.to_uppercase(),
    )
    if frame["_date"].null_count() > frame["date_of_service"].null_count():
        # Some dates are not ISO: try the US form on those (most files use one form).
        us = dos.str.contains(_US) & pl.col("_date").is_null()
        frame = frame.with_columns(
            pl.when(us)
            .then(dos.str.to_date("%m/%d/%Y", strict=False))
            .otherwise("_date")
            .alias("_date")
        )
    checks: Checks = {
        "claim_id": (pl.col("claim_id").is_not_null(), "is empty: every line needs a claim_id"),
        "date_of_service": (
            pl.col("_date").is_not_null() & pl.col("_date").dt.year().is_between(1900, 2999),
            "is not a date (YYYY-MM-DD or MM/DD/YYYY)",
        ),
        "code": (
            pl.col("code").str.contains(CODE).fill_null(False),
            "is not a CPT (5 digits, or 4 and a letter) or HCPCS Level II (a letter and "
            "4 digits) code",
        ),
        "modifiers": (
            pl.col("modifiers").str.contains(_MODIFIERS_CELL).fill_null(True),
            f"is not up to {MAX_MODIFIERS} two-character modifiers",
        ),
        "units": (
            pl.col("units").str.contains(r"^[0-9]{1,6}$").fill_null(False)
            & pl.col("units").str.contains(r"[1-9]").fill_null(False),
            "is not a whole number of units, 1 or more",
        ),
        "diagnosis_codes": (
            pl.col("diagnosis_codes").str.contains(_DIAGNOSES_CELL).fill_null(True),
            "is not a list of ICD-10-CM codes",
        ),
        "place_of_service": (
            pl.col("place_of_service").str.contains(r"^[0-9]{2}$").fill_null(True),
            "is not a two-digit place of service code",
        ),
        "charge": (
            pl.col("charge").str.contains(r"^[0-9]{1,9}(?:\.[0-9]{1,2})?$").fill_null(True),
            "is not an amount in dollars (digits, at most two decimals, not negative)",
        ),
    }
    check_values(frame, checks, name)
    return frame.select(
        pl.col(LINE).cast(pl.Int64),
        "claim_id",
        pl.col("_date").alias("date_of_service"),
        "code",
        _split(frame, "modifiers").alias("modifiers"),
        pl.col("units").cast(pl.Int64),
        _split(frame, "diagnosis_codes", drop=".").alias("diagnosis_codes"),
        "place_of_service",
        pl.col("charge").str.to_decimal(scale=2).cast(pl.Decimal(18, 2)),
    )
