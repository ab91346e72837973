"""CMS's Medically Unlikely Edit (MUE) tables: practitioner, outpatient hospital, DME supplier.

The layout (e.g. `MCR_MUE_PractitionerServices_Eff_10-01-2026.csv`): CSV in Latin-1,
records ending CRLF. The first record is the AMA notice, one quoted cell spread over
several lines (line breaks inside quotes are LF); the header record follows, its
first cell a quoted `"HCPCS/` LF `CPT Code"`; then one code per record: the MUE value
(the most units of service per beneficiary, per line or per day), the adjudication
indicator with its meaning (`2 Date of Service Edit: Policy`) and the rationale.
Only the value column's name differs between the three tables
(`Practitioner Services MUE Values`, `Outpatient Hospital Services MUE Values`, ...).

The tables are small (about 15,000 codes), so the records are split with the `csv`
module, which knows quoted line breaks and so each record's line; the values are
then checked with polars expressions. A file that does not end with a line break was
cut off inside its last record and is rejected.
"""

from __future__ import annotations

import csv
import io
import re
from typing import TYPE_CHECKING

import polars as pl

from pipeline.errors import InputError
from pipeline.sources.base import RawSource, decode_text
from pipeline.sources.coerce import LINE, Checks, check_values

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pipeline.spec import ReaderSpec

#: MUE adjudication indicator -> what it means for a claim.
ADJUDICATION_INDICATORS = {
    "1": "claim line edit",
    "2": "date of service edit: policy",
    "3": "date of service edit: clinical",
}

#: The snapshot's columns, in order.
COLUMNS = (
    "code",
    "mue_value",
    "adjudication_indicator",
    "adjudication_description",
    "rationale",
)
CODE = r"^[0-9A-Z]{5}$"
#: (column, pattern of its header cell, whitespace collapsed and lower case, label).
_HEADERS: tuple[tuple[str, str, str], ...] = (
    ("code", r"hcpcs ?/ ?cpt code", "HCPCS/CPT Code"),
    ("mue_value", r"(?:.* )?mue values?", "... MUE Values"),
    ("adjudication_indicator", r"mue adjudication indicator", "MUE Adjudication Indicator"),
    ("rationale", r"mue rationale", "MUE Rationale"),
)
#: The header is the first record whose first cell is this, among the first few.
_CODE_HEADER = re.compile(_HEADERS[0][1])
MAX_PREAMBLE_RECORDS = 5
_SNIFF = re.compile(r'^"HCPCS/\s*CPT Code",[^\r\n]*MUE', re.IGNORECASE | re.MULTILINE)


def read(raw: RawSource, reader: ReaderSpec) -> pl.DataFrame:
    """Read an MUE table into one row per code."""
    text = decode_text(raw, _encoding(raw, reader.encoding))
    records = _records(text, raw.name)
    header, header_line = _header(records, raw.name)
    positions = _positions(header, header_line, raw.name)
    if not text.endswith("\n"):
        raise InputError(
            raw.name,
            "last record does not end with a line break: the file is cut off",
            line=text.count("\n") + 1,
        )
    rows: list[list[str]] = []
    lines: list[int] = []
    blank: int | None = None
    for line, row in records:
        if not row:
            blank = blank or line
            continue
        if blank is not None:
            raise InputError(raw.name, "blank line inside the table", line=blank)
        if len(row) != len(header):
            raise InputError(
                raw.name,
                f"expected {len(header)} comma-separated fields, found {len(row)}",
                line=line,
            )
        rows.append(row)
        lines.append(line)
    if not rows:
        raise InputError(raw.name, "no codes after the header (empty or truncated file?)")
    columns = list(zip(*rows, strict=True))
    frame = pl.DataFrame(
        {LINE: lines, **{name: columns[i] for name, i in positions.items()}},
        schema={LINE: pl.UInt32, **dict.fromkeys(positions, pl.String)},
    )
    return _typed(frame, raw.name)


def _encoding(raw: RawSource, configured: str) -> str:
    """CMS writes these tables in Latin-1 (the notice's ®); accept UTF-8 too."""
    if configured != "auto":
        return configured
    try:
        raw.data.decode("utf-8")
    except UnicodeDecodeError:
        return "latin-1"
    return "auto"


def _records(text: str, file: str) -> Iterator[tuple[int, list[str]]]:
    """Each CSV record with the line it starts on."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    end = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(
                file, f"malformed CSV ({exc}): an unclosed quote?", line=end + 1
            ) from None
        start, end = end + 1, reader.line_num
        yield start, row


def _header(records: Iterator[tuple[int, list[str]]], file: str) -> tuple[list[str], int]:
    """Skip the notice record(s) up to the `HCPCS/CPT Code` header."""
    for _, (line, row) in zip(range(MAX_PREAMBLE_RECORDS), records, strict=False):
        if row and _CODE_HEADER.fullmatch(_norm(row[0])):
            return row, line
    raise InputError(
        file,
        f"no 'HCPCS/CPT Code' header among the first {MAX_PREAMBLE_RECORDS} records: "
        "not an MUE table",
    )


def _norm(cell: str) -> str:
    return " ".join(cell.split()).lower()


def _positions(header: list[str], line: int, file: str) -> dict[str, int]:
    """Where each column is, by name: a missing or unknown column is an error."""
    positions: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = next((n for n, p, _ in _HEADERS if re.fullmatch(p, _norm(cell))), None)
        if name is None or name in positions:
            what = "unknown" if name is None else "repeated"
            raise InputError(file, f"{what} column {cell!r}", line=line, column=index + 1)
        positions[name] = index
    missing = [repr(label) for name, _, label in _HEADERS if name not in positions]
    if missing:
        found = ", ".join(repr(" ".join(c.split())) for c in header)
        raise InputError(file, f"missing column(s) {', '.join(missing)}; found {found}", line=line)
    return positions


def _typed(frame: pl.DataFrame, file: str) -> pl.DataFrame:
    """Validate every field, then convert: the first bad value is reported."""
    parts = pl.col("adjudication_indicator").str.extract_groups(r"^([0-9])(?:\s+(.*))?$")
    frame = frame.with_columns(
        parts.struct.field("1").alias("_indicator"), parts.struct.field("2").alias("_meaning")
    )
    known = ", ".join(ADJUDICATION_INDICATORS)
    checks: Checks = {
        "code": (pl.col("code").str.contains(CODE), "is not a 5-character code"),
        "mue_value": (pl.col("mue_value").str.contains(r"^[0-9]{1,9}$"), "is not a whole number"),
        "adjudication_indicator": (
            pl.col("_indicator").is_in(list(ADJUDICATION_INDICATORS)).fill_null(False),
            f"is not an adjudication indicator ({known}, then its meaning)",
        ),
    }
    check_values(frame, checks, file)
    return frame.select(
        LINE,
        "code",
        pl.col("mue_value").cast(pl.Int64),
        pl.col("_indicator").alias("adjudication_indicator"),
        pl.col("_meaning").alias("adjudication_description"),
        "rationale",
    )


def sniff(raw: RawSource) -> bool:
    """An MUE table has its `"HCPCS/ CPT Code",... MUE ...` header in its first 8 KB."""
    return bool(_SNIFF.search(raw.data[:8192].decode("latin-1")))
