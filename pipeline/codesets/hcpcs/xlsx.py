"""CMS's annual HCPCS Level II file, spreadsheet variant (`*ANWEB*.xlsx`, 2020: `.xls`).

Each annual zip holds the same data as a spreadsheet: one column per ANWEB
field (multi-occurrence fields as PRICE1..4, LABCERT1..8, ...), a disclaimer
above the header row in some years, and long descriptions mostly in one cell
but occasionally continued on a following row with RECID 4 (G0503, 2019-2020),
as in the text file. This reader yields exactly the frame the ANWEB text
reader gives for the same edition, so both variants produce the same snapshot
digest: it reuses that reader's normalisation rather than restating it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from pipeline.codesets.hcpcs.anweb import (
    ACTION_CODES,
    DETAIL,
    assemble,
    check_code_shapes,
    check_continuations,
)
from pipeline.errors import InputError
from pipeline.sources.coerce import LINE, refuse_first

if TYPE_CHECKING:
    from pipeline.sources.base import RawSource
    from pipeline.spec import ReaderSpec

#: The spreadsheet's header cells for each canonical field (several for multi-occurrence ones).
HEADERS: dict[str, tuple[str, ...]] = {
    "code": ("HCPC",),
    "record_id": ("RECID",),
    "long_description": ("LONG DESCRIPTION",),
    "short_description": ("SHORT DESCRIPTION",),
    "pricing_indicator": ("PRICE1", "PRICE2", "PRICE3", "PRICE4"),
    "multiple_pricing_indicator": ("MULT_PI",),
    "cim_reference": ("CIM1", "CIM2", "CIM3"),
    "mcm_reference": ("MCM1", "MCM2", "MCM3"),
    "statute": ("STATUTE",),
    "lab_certification": tuple(f"LABCERT{i}" for i in range(1, 9)),
    "cross_reference": tuple(f"XREF{i}" for i in range(1, 6)),
    "coverage_code": ("COV",),
    "asc_group": ("ASC_GRP",),
    "asc_effective_date": ("ASC_DT",),
    "mog_group": ("OPPS",),
    "mog_indicator": ("OPPS_PI",),
    "mog_effective_date": ("OPPS_DT",),
    "processing_note": ("PROCNOTE",),
    "betos": ("BETOS",),
    "type_of_service": tuple(f"TOS{i}" for i in range(1, 6)),
    "anesthesia_base_units": ("ANEST_BU",),
    "add_date": ("ADD DT",),
    "action_effective_date": ("ACT EFF DT",),
    "termination_date": ("TERM DT",),
    "action_code": ("ACTION CD",),
}
#: Cells that mark the header row (the rows above it are a disclaimer).
HEADER_MARK = ("HCPC", "RECID", "ACTION CD")
#: How far down the header row may be.
HEADER_SEARCH_ROWS = 50
_XLSX_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def read(raw: RawSource, reader: ReaderSpec) -> pl.DataFrame:
    """Read the spreadsheet into one row per code, as `pipeline.sources.hcpcs.read` does."""
    del reader  # the format takes no options
    cells = _load(raw)
    header = _header_row(cells, raw.name)
    names = [_header_name(v) for v in cells.row(header)]
    body = cells.slice(header + 1).with_row_index(LINE, offset=header + 2)
    body.columns = [LINE, *(f"{n}_{i}" if names.count(n) > 1 else n for i, n in enumerate(names))]
    wanted = [h for hs in HEADERS.values() for h in hs]
    twice = sorted({h for h in wanted if names.count(h) > 1})
    if twice:
        raise InputError(raw.name, f"column(s) {', '.join(map(repr, twice))} appear twice")
    missing = [h for h in wanted if h not in body.columns]
    if missing:
        raise InputError(raw.name, f"missing column(s) {', '.join(map(repr, missing))}")
    body = body.select(LINE, *(pl.col(h).fill_null("") for h in wanted))
    body = body.filter(pl.any_horizontal(pl.col(h).str.strip_chars() != "" for h in wanted))
    records = body.with_columns(
        rid=pl.col("RECID").str.strip_chars(), code=pl.col("HCPC").str.strip_chars()
    )
    _check_records(records, raw.name)
    records = records.with_columns(
        group=pl.col("rid").is_in(["3", "7"]).cum_sum(),
        long=pl.col("LONG DESCRIPTION").str.strip_chars(),
    )
    check_continuations(records, raw.name)
    return assemble(records, {name: _field(name) for name, *_ in DETAIL}, raw.name)


def _field(name: str) -> pl.Expr:
    """A field's cells, stripped; several occurrences joined by single spaces as in ANWEB."""
    parts = [pl.col(h).str.strip_chars() for h in HEADERS[name]]
    if len(parts) == 1:
        return parts[0]
    return pl.concat_str(parts, separator=" ").str.replace_all(r"\s+", " ").str.strip_chars()


def _load(raw: RawSource, rows: int | None = None) -> pl.DataFrame:
    """Every cell of the first sheet as text, no header (the header row is found by content)."""
    import fastexcel

    from pipeline.sources.xlsx import check_workbook

    check_workbook(raw)
    try:
        book = fastexcel.read_excel(raw.data)
        sheet = book.load_sheet(0, header_row=None, dtypes="string", n_rows=rows)
    except fastexcel.FastExcelError as exc:
        reason = str(exc).splitlines()[0]
        raise InputError(raw.name, f"not a readable xlsx/xls workbook ({reason})") from None
    return sheet.to_polars()


def _header_name(value: object) -> str:
    return " ".join(str(value).split()).upper() if value is not None else ""


def _header_row(cells: pl.DataFrame, file: str) -> int:
    for i, row in enumerate(cells.head(HEADER_SEARCH_ROWS).iter_rows()):
        names = {_header_name(v) for v in row}
        if all(m in names for m in HEADER_MARK):
            return i
    raise InputError(
        file, f"no HCPCS header row ({', '.join(HEADER_MARK)}) in the first rows of the sheet"
    )


def _check_records(records: pl.DataFrame, file: str) -> None:
    refuse_first(
        records.filter(~pl.col("rid").is_in(["3", "4", "7", "8"])),
        file,
        lambda row: f"RECID {row['rid']!r} is not 3, 4, 7 or 8",
        column="RECID",
    )
    heads = records.filter(pl.col("rid").is_in(["3", "7"]))
    refuse_first(
        heads.filter(~pl.col("ACTION CD").str.strip_chars().is_in(list(ACTION_CODES))),
        file,
        lambda row: f"action code {row['ACTION CD']!r} is not one of {', '.join(ACTION_CODES)}",
        column="ACTION CD",
    )
    check_code_shapes(records, file, column="HCPC")


def sniff(raw: RawSource) -> bool:
    """An xlsx/xls workbook whose first sheet has the HCPCS header row."""
    if not raw.data.startswith((_XLSX_MAGIC, _XLS_MAGIC)):
        return False
    try:
        _header_row(_load(raw, rows=HEADER_SEARCH_ROWS), raw.name)
    except InputError:
        return False
    return True
