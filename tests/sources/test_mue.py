"""The MUE reader, on small files in exactly the layout of CMS's real MUE tables."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipeline.codesets.mue.table import ADJUDICATION_INDICATORS, COLUMNS, read, sniff
from pipeline.codesets.reading import read_source
from pipeline.errors import InputError
from pipeline.sources.base import RawSource
from pipeline.sources.coerce import LINE
from pipeline.spec import ReaderSpec

READER = ReaderSpec(format="mue")

#: The first record of every 2026 MUE table, verbatim: the AMA notice as one quoted cell
#: whose line breaks are LF (the file's records end CRLF), padded to four cells.
NOTICE = (
    '"Current Procedural Terminology (CPT) codes, descriptions and other data only are '
    "copyright 2025 American Medical Association. All rights reserved. \n\n"
    "CPT® is a registered trademark of the American Medical Association.\n\n"
    "Applicable FARS/DFARS Restrictions Apply to Government Use. \n\n"
    "Fee schedules, relative value units, conversion factors and/or related components are "
    "not assigned by the AMA, are not part of CPT, and the AMA is not recommending their use."
    "  The AMA does not directly or indirectly practice medicine or dispense medical services."
    '  The AMA assumes no liability for the data contained or not contained herein.",,,'
)
#: The header's value column, as named in each of the three 10-01-2026 tables.
VALUE_COLUMNS = {
    "practitioner": "Practitioner Services MUE Values",
    "outpatient": "Outpatient Hospital Services MUE Values",
    "dme": "DME Supplier Services MUE Values",
}
#: Records of `MCR_MUE_PractitionerServices_Eff_10-01-2026.csv`, verbatim.
RECORDS = [
    "0001U,1,2 Date of Service Edit: Policy,Code Descriptor / CPT Instruction",
    "71046,2,3 Date of Service Edit: Clinical,Clinical: Data",
    "99213,2,3 Date of Service Edit: Clinical,Clinical: Data",
    "E0114,0,3 Date of Service Edit: Clinical,CMS Policy",
    "J1885,8,3 Date of Service Edit: Clinical,Prescribing Information",
    "K0001,0,3 Date of Service Edit: Clinical,CMS Policy",
]
HEADER_LINE = NOTICE.count("\n") + 2  # the header record starts on line 8 ...
FIRST = HEADER_LINE + 2  # ... spans two lines, so the first code is on line 10


def header(value: str = VALUE_COLUMNS["practitioner"]) -> str:
    return f'"HCPCS/\nCPT Code",{value},MUE Adjudication Indicator,MUE Rationale'


def mue_bytes(records: list[str] = RECORDS, head: str | None = None, end: str = "\r\n") -> bytes:
    """An MUE table in the real layout: Latin-1, records end CRLF, LF inside quotes."""
    lines = [NOTICE, header() if head is None else head, *records]
    return ("\r\n".join(lines) + end).encode("latin-1")


MUE_BYTES = mue_bytes()


def raw(data: bytes, name: str = "MCR_MUE_PractitionerServices_Eff_10-01-2026.csv") -> RawSource:
    return RawSource(data=data, path=Path(name), member=None, sha256="", size=len(data))


def error(data: bytes) -> InputError:
    with pytest.raises(InputError) as info:
        read(raw(data), READER)
    return info.value


@pytest.mark.parametrize("table", VALUE_COLUMNS)
def test_each_table_reads_into_typed_columns(tmp_path: Path, table: str) -> None:
    path = tmp_path / f"MCR_MUE_{table}.csv"
    path.write_bytes(mue_bytes(head=header(VALUE_COLUMNS[table])))
    frame = read_source(path, READER, ["code"]).frame
    assert tuple(frame.columns) == COLUMNS
    assert frame.schema["mue_value"] == pl.Int64
    assert frame["code"].to_list() == ["0001U", "71046", "99213", "E0114", "J1885", "K0001"]
    rows = {r["code"]: r for r in frame.iter_rows(named=True)}
    assert rows["0001U"] == {
        "code": "0001U",
        "mue_value": 1,
        "adjudication_indicator": "2",
        "adjudication_description": "Date of Service Edit: Policy",
        "rationale": "Code Descriptor / CPT Instruction",
    }
    assert rows["J1885"]["mue_value"] == 8
    assert rows["J1885"]["adjudication_indicator"] == "3"
    assert rows["J1885"]["adjudication_description"] == "Date of Service Edit: Clinical"
    assert rows["E0114"]["mue_value"] == 0
    assert set(frame["adjudication_indicator"]) <= set(ADJUDICATION_INDICATORS)


def test_records_keep_their_source_lines_across_quoted_line_breaks() -> None:
    """A quoted cell with a line break takes two lines; later records' lines follow.

    The record is 0002M's from the 07-01-2026 table, its rationale quoted over two lines."""
    quoted = '0002M,1,3 Date of Service Edit: Clinical,"Nature of\nAnalyte"'
    records = [*RECORDS[:2], quoted, *RECORDS[2:]]
    frame = read(raw(mue_bytes(records)), READER)
    assert frame[LINE].to_list() == [10, 11, 12, 14, 15, 16, 17]
    row = frame.row(2, named=True)
    assert row["rationale"] == "Nature of\nAnalyte"
    assert row["adjudication_indicator"] == "3"


def test_utf8_file_and_trailing_blank_lines_are_accepted() -> None:
    data = ("\r\n".join([NOTICE, header(), *RECORDS]) + "\r\n\r\n").encode("utf-8")
    assert read(raw(data), READER).height == len(RECORDS)


@pytest.mark.parametrize(
    "cut",
    ["K0001,0,3 Date of Service Edit: Clinical,CMS Pol", "K0001,0,3 Date of Serv", "K00"],
)
def test_file_cut_off_inside_its_last_record_is_rejected(cut: str) -> None:
    err = error(mue_bytes([*RECORDS[:-1], cut], end=""))
    assert err.line == FIRST + len(RECORDS) - 1
    assert "cut off" in err.message


def test_unclosed_quote_is_rejected_with_its_line() -> None:
    err = error(mue_bytes([*RECORDS[:3], 'E0114,0,3 Date of Service Edit: Clinical,"CMS Policy']))
    assert err.line == FIRST + 3


@pytest.mark.parametrize(
    ("record", "column"),
    [
        ("71046,x,3 Date of Service Edit: Clinical,Clinical: Data", "mue_value"),
        ("71046,2.5,3 Date of Service Edit: Clinical,Clinical: Data", "mue_value"),
        ("71046,,3 Date of Service Edit: Clinical,Clinical: Data", "mue_value"),
        ("71046,2,4 Date of Service Edit: Clinical,Clinical: Data", "adjudication_indicator"),
        ("71046,2,Date of Service Edit: Clinical,Clinical: Data", "adjudication_indicator"),
        ("71046,2,,Clinical: Data", "adjudication_indicator"),
        ("7104,2,3 Date of Service Edit: Clinical,Clinical: Data", "code"),
    ],
)
def test_bad_value_names_line_and_column(record: str, column: str) -> None:
    err = error(mue_bytes([RECORDS[0], record, *RECORDS[2:]]))
    assert (err.line, err.column) == (FIRST + 1, column)


@pytest.mark.parametrize(
    "record", ["71046,2,3 Date of Service Edit: Clinical", "71046,2,3 Date,Clinical,Data"]
)
def test_record_with_wrong_field_count_is_rejected(record: str) -> None:
    err = error(mue_bytes([RECORDS[0], record, *RECORDS[2:]]))
    assert err.line == FIRST + 1
    assert "expected 4 comma-separated fields" in err.message


def test_blank_line_inside_the_table_is_rejected() -> None:
    err = error(mue_bytes([*RECORDS[:2], "", *RECORDS[2:]]))
    assert err.line == FIRST + 2


def test_missing_or_unknown_column_is_rejected_at_the_header() -> None:
    short = '"HCPCS/\nCPT Code",Practitioner Services MUE Values,MUE Adjudication Indicator'
    rows = [r.rsplit(",", 1)[0] for r in RECORDS]
    err = error(mue_bytes(rows, head=short))
    assert err.line == HEADER_LINE
    assert "missing column" in err.message
    err = error(mue_bytes(head=header().replace("MUE Rationale", "Publication Indicator")))
    assert (err.line, err.column) == (HEADER_LINE, 4)


def test_duplicated_code_is_an_error_listing_it(tmp_path: Path) -> None:
    path = tmp_path / "mue.csv"
    path.write_bytes(mue_bytes([*RECORDS, RECORDS[2]]))
    with pytest.raises(InputError, match=r"99213 \(lines 12, 16\)"):
        read_source(path, READER, ["code"])


def test_ptp_table_is_rejected_not_half_read(tmp_path: Path) -> None:
    from tests.sources.test_ncci import ptp_bytes

    path = tmp_path / "ccipra-v322r0-f1.txt"
    path.write_bytes(ptp_bytes())
    with pytest.raises(InputError, match="not an MUE table"):
        read_source(path, READER, ["code"])


def test_sniff_tells_mue_from_others() -> None:
    from tests.sources.test_ncci import ptp_bytes

    for value in VALUE_COLUMNS.values():
        assert sniff(raw(mue_bytes(head=header(value))))
    assert not sniff(raw(ptp_bytes()))
    assert not sniff(raw(b"HCPCS,Description\r\nA0021,Outside state ambulance\r\n"))
