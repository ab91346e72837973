"""CMS's Medicare Physician Fee Schedule relative value file ("PPRRVU"), CSV and fixed width.

One record per (HCPCS code, modifier): status code, RVUs, payment policy indicators and
the conversion factor. CMS publishes the same data as a CSV and as a fixed-width text
file; both readers give the same frame (same columns, dtypes and values).

- CSV: title, copyright and release lines, then a column header spread over several
  lines whose last line starts `HCPCS,MOD,DESCRIPTION`. That line is found, not
  counted to, and must match `_FIELDS` cell for cell, so a new or moved column fails
  loudly. A trailing DOS end-of-file mark (Ctrl-Z) line is ignored.
- Text: the record layout of the RVU24B / RVU25D documentation (1-based columns in
  `_FIELDS`). Header records start `HDR`; data starts at the first data record.
  Records are 171 characters (the PDF says 200, the files stop after the last field).
  The layout omits column 59, which carries the CSV's NOT USED FOR MEDICARE PAYMENT
  flag (`+`), and misprints the location of the OPPS malpractice RVU as `1`: it is
  166-171, six wide like the two OPPS fields before it.

Columns (`COLUMNS`, snake_case from the layout's field names): strings keep the file's
text (leading zeros, `NA`, `+`, `XXX`); a blank modifier is null. RVUs and the
preoperative / intraoperative / postoperative shares are Decimal scale 2 and the
conversion factor Decimal scale 4, as the layout's pictures (999.99, .99, 999.9999)
define them; a value with more decimals is rejected, never rounded. The descriptor
column (CPT short descriptors, the AMA's copyright) is read past and never returned.
"""

from __future__ import annotations

import csv
import re
from typing import TYPE_CHECKING, Any

import polars as pl

from pipeline.codesets.pfs.vocabulary import STATUS_CODES
from pipeline.errors import InputError
from pipeline.sources.base import RawSource, check_complete, decode_text
from pipeline.sources.coerce import LINE, refuse_first

if TYPE_CHECKING:
    from pipeline.spec import ReaderSpec

# (name, cell on the CSV's last header line, first and last text column, decimal scale).
_FIELDS: tuple[tuple[str, str, int, int, int | None], ...] = (
    ("hcpcs", "HCPCS", 1, 5, None),
    ("modifier", "MOD", 6, 7, None),
    ("description", "DESCRIPTION", 8, 57, None),  # dropped: the AMA's descriptors
    ("status_code", "CODE", 58, 58, None),
    ("not_used_for_medicare", "PAYMENT", 59, 59, None),
    ("work_rvu", "RVU", 60, 65, 2),
    ("non_facility_pe_rvu", "PE RVU", 67, 72, 2),
    ("non_facility_na_indicator", "INDICATOR", 73, 74, None),
    ("facility_pe_rvu", "PE RVU", 76, 81, 2),
    ("facility_na_indicator", "INDICATOR", 82, 83, None),
    ("mp_rvu", "RVU", 85, 89, 2),
    ("non_facility_total", "TOTAL", 91, 96, 2),
    ("facility_total", "TOTAL", 97, 102, 2),
    ("pctc_indicator", "IND", 103, 103, None),
    ("global_days", "DAYS", 104, 106, None),
    ("preoperative", "OP", 107, 109, 2),
    ("intraoperative", "OP", 110, 112, 2),
    ("postoperative", "OP", 113, 115, 2),
    ("multiple_procedure", "PROC", 116, 116, None),
    ("bilateral_surgery", "SURG", 117, 117, None),
    ("assistant_surgery", "SURG", 118, 118, None),
    ("co_surgeons", "SURG", 119, 119, None),
    ("team_surgery", "SURG", 120, 120, None),
    ("endoscopic_base_code", "BASE", 128, 132, None),
    ("conversion_factor", "FACTOR", 133, 140, 4),
    ("physician_supervision_diagnostic", "PROCEDURES", 142, 143, None),
    ("calculation_flag", "FLAG", 144, 144, None),
    ("diagnostic_imaging_family", "INDICATOR", 146, 147, None),
    ("non_facility_pe_used_for_opps", "AMOUNT", 152, 157, 2),
    ("facility_pe_used_for_opps", "AMOUNT", 159, 164, 2),
    ("mp_used_for_opps", "AMOUNT", 166, 171, 2),
)
_DROPPED = "description"
#: The frame's columns, in order (the reader adds `_line`).
COLUMNS = tuple(f[0] for f in _FIELDS if f[0] != _DROPPED)
KEY = ("hcpcs", "modifier")
#: column -> decimal scale.
DECIMALS = {f[0]: f[4] for f in _FIELDS if f[4] is not None}
#: Length of a text record: the end of its last field.
WIDTH = _FIELDS[-1][3]
#: Text columns between fields, blank in every record: a shifted record shows here.
_FILLERS: tuple[tuple[int, int], ...] = (
    *((66, 66), (75, 75), (84, 84), (90, 90), (121, 127)),
    *((141, 141), (145, 145), (148, 151), (158, 158), (165, 165)),
)

_CSV_HEADER = re.compile(r'(?im)^\s*"?HCPCS"?\s*,\s*"?MOD"?\s*,\s*"?DESCRIPTION"?\s*(,|$)')
#: A text data record: code, modifier, descriptor, status code, flag, work RVU.
_RECORD = r"^[0-9A-Z]{5}[0-9A-Z ]{2}.{50}[A-Z][ +][ 0-9]{2}[0-9]\.[0-9]{2} "
#: A line that is only blanks, commas or DOS end-of-file marks (Ctrl-Z).
_BLANK = r"^[\s,\x1a]*$"
_QUOTED = r'"(?:[^"]|"")*"'


def read_csv(raw: RawSource, reader: ReaderSpec) -> pl.DataFrame:
    """Read a PPRRVU CSV: find the header line by its cells, then every record after it."""
    lines = _lines(decode_text(raw, reader.encoding))
    header = lines.filter(pl.col("text").str.contains(_CSV_HEADER.pattern))
    if not header.height:
        raise InputError(raw.name, "no header line starting HCPCS,MOD,DESCRIPTION")
    start = header[LINE][0]
    _check_csv_header(header["text"][0], raw.name, start)
    body = _body(lines.filter(pl.col(LINE) > start), raw.name)
    fields = pl.col("text").str.replace_all(_QUOTED, "").str.count_matches(",").cast(pl.Int64) + 1
    body = body.with_columns(fields.alias("fields"))
    refuse_first(
        body.filter(pl.col("text").str.replace_all(_QUOTED, "").str.contains('"')),
        raw.name,
        "unbalanced quote",
    )
    refuse_first(
        body.filter(pl.col("fields") != len(_FIELDS)),
        raw.name,
        lambda row: f"expected {len(_FIELDS)} fields, found {row['fields']}",
    )
    names = [f[0] for f in _FIELDS]
    try:
        frame = pl.read_csv(
            "\n".join(body["text"]).encode() + b"\n",
            has_header=False,
            schema=dict.fromkeys(names, pl.String),
            empty_string_is_null=False,
            truncate_ragged_lines=False,
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as exc:
        raise InputError(raw.name, f"malformed CSV ({exc})") from None
    if frame.height != body.height:
        raise InputError(raw.name, "records do not match lines (a quoted line break?)")
    frame = _finish(frame.with_columns(body[LINE]), raw.name)
    check_complete(raw)  # every record fits its layout, and yet the last may be cut
    return frame


def _check_csv_header(text: str, file: str, line: int) -> None:
    cells = [c.strip().upper() for c in next(csv.reader([text]))]
    expected = [f[1] for f in _FIELDS]
    if len(cells) != len(expected):
        message = f"header has {len(cells)} columns, the layout {len(expected)}"
        raise InputError(file, message, line=line)
    for index, (cell, want) in enumerate(zip(cells, expected, strict=True)):
        if cell != want:
            name = _FIELDS[index][0]
            message = f"header cell {index + 1} is {cell!r}, expected {want!r}"
            raise InputError(file, message, line=line, column=name)


def read_txt(raw: RawSource, reader: ReaderSpec) -> pl.DataFrame:
    """Read a PPRRVU fixed-width file: header records, then one data record per line."""
    lines = _lines(decode_text(raw, reader.encoding))
    first = lines.filter(pl.col("text").str.contains(_RECORD)).select(pl.col(LINE).min()).item()
    if first is None:
        raise InputError(raw.name, "no data records (not a PPRRVU text file, or empty)")
    preamble = lines.filter(pl.col(LINE) < first)
    refuse_first(
        preamble.filter(~pl.col("text").str.contains(r"^(HDR|\s*$)")),
        raw.name,
        "expected a header record (HDR) or a data record",
    )
    body = _body(lines.filter(pl.col(LINE) >= first), raw.name)
    length = pl.col("text").str.len_chars()
    refuse_first(
        body.filter(length < WIDTH),
        raw.name,
        lambda row: f"record is {len(row['text'])} characters, expected {WIDTH} (truncated?)",
    )
    refuse_first(
        body.filter(pl.col("text").str.slice(WIDTH).str.strip_chars() != ""),
        raw.name,
        f"unexpected text after column {WIDTH}",
        column=WIDTH + 1,
    )
    for start, end in _FILLERS:
        refuse_first(
            body.filter(
                pl.col("text").str.slice(start - 1, end - start + 1).str.strip_chars() != ""
            ),
            raw.name,
            "expected blanks between fields (misaligned record?)",
            column=f"{start}-{end}" if end > start else start,
        )
    frame = body.select(
        *(pl.col("text").str.slice(s - 1, e - s + 1).alias(name) for name, _, s, e, _ in _FIELDS),
        LINE,
    )
    frame = _finish(frame, raw.name)
    check_complete(raw)  # every record fits its layout, and yet the last may be cut
    return frame


def _lines(text: str) -> pl.DataFrame:
    return pl.DataFrame({"text": text.split("\n")}).with_row_index(LINE, offset=1)


def _body(lines: pl.DataFrame, file: str) -> pl.DataFrame:
    """The records: trailing blank and end-of-file lines dropped, none blank in between."""
    blank = pl.col("text").str.contains(_BLANK)
    last = lines.filter(~blank).select(pl.col(LINE).max()).item()
    if last is None:
        raise InputError(file, "no data records after the header (empty or truncated file?)")
    body = lines.filter(pl.col(LINE) <= last)
    refuse_first(body.filter(blank), file, "blank line among the records")
    return body


def _finish(frame: pl.DataFrame, file: str) -> pl.DataFrame:
    """Trim, null the blanks, check keys and codes, type the numbers; drop the descriptor."""
    frame = frame.drop(_DROPPED).with_columns(
        pl.col(c).str.strip_chars().replace("", None) for c in COLUMNS
    )
    _check(frame, "hcpcs", pl.col("hcpcs").str.contains(r"^[0-9A-Z]{5}$"), file, "a HCPCS code")
    ok = pl.col("modifier").is_null() | pl.col("modifier").str.contains(r"^[0-9A-Z]{2}$")
    _check(frame, "modifier", ok, file, "a 2-character modifier")
    codes = ", ".join(STATUS_CODES)
    ok = pl.col("status_code").is_in(list(STATUS_CODES))
    _check(frame, "status_code", ok, file, f"a status code ({codes})")
    for column, scale in DECIMALS.items():
        # The layout's pictures (999.99, .99, 999.9999) have no sign: a negative value is
        # a damaged file, not a payment rule.
        unsigned = ~pl.col(column).str.starts_with("-")
        _check(frame, column, unsigned, file, "an unsigned number (the layout has no sign)")
        number = rf"^(?:[0-9]+(?:\.[0-9]{{0,{scale}}})?|\.[0-9]{{1,{scale}}})$"
        ok = pl.col(column).is_not_null() & pl.col(column).str.contains(number)
        _check(frame, column, ok, file, f"a number with at most {scale} decimals")
    frame = frame.with_columns(
        pl.col(c).str.to_decimal(scale=s).cast(pl.Decimal(38, s)) for c, s in DECIMALS.items()
    )
    return frame.select(pl.col(LINE).cast(pl.Int64), *COLUMNS)


def _check(frame: pl.DataFrame, column: str, ok: pl.Expr, file: str, expected: str) -> None:
    bad = frame.filter(~ok.fill_null(False))

    def message(row: dict[str, Any]) -> str:
        shown = "empty" if row[column] is None else repr(row[column])
        return f"{shown} is not {expected} ({bad.height} bad value(s) in this column)"

    refuse_first(bad, file, message, column=column)


def sniff_csv(raw: RawSource) -> bool:
    """A PPRRVU CSV has, within its first lines, a header line starting HCPCS,MOD,DESCRIPTION."""
    head = raw.data[:65536].decode("latin-1")
    return _CSV_HEADER.search(head) is not None


def sniff_txt(raw: RawSource) -> bool:
    """A PPRRVU text file has, within its first lines, a 171-character data record."""
    head = raw.data[:65536].decode("latin-1").splitlines()
    pattern = re.compile(_RECORD)
    return any(pattern.match(line) and len(line.rstrip("\r")) >= WIDTH for line in head)
