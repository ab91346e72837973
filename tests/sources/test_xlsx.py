"""The xlsx reader: CMS's real HCPCS workbooks, and small workbooks built in the test."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from pipeline.codesets.reading import read_source
from pipeline.errors import ConfigError, InputError
from pipeline.sources.base import RawSource, open_source
from pipeline.sources.xlsx import read
from pipeline.spec import ReaderSpec
from tests.sources.conftest import HCPCS, Date, Error, make_xlsx, spec

Source = Callable[..., RawSource]

#: The 2019 workbook's header sits in row 8, below a disclaimer; the 2020 .xls's in row 11.
ANWEB_2019 = (HCPCS / "2019-Alpha-Numeric-HCPCS-File.zip", "*ANWEB*.xlsx", 7)
ANWEB_2020 = (HCPCS / "2020-Alpha-Numeric-HCPCS-File.zip", "*ANWEB*.xls", 10)

#: A fee-schedule-like sheet: a title, a blank row, the header in row 4 starting at column B.
FEES = [
    [],
    [None, "CY 2024 fee schedule (illustrative)"],
    [],
    [None, "CODE", "RVU", "EFFECTIVE", "ACTIVE", None],
    [None, 97110, 0.45, Date(45292), True],
    [None, "0591T", 1.5, Date(45292.5), False, Error("#N/A")],
    [],
    [None, "G0283", 2.0, "20240101"],
]


def codes(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col("HCPC").str.strip_chars())


@pytest.mark.parametrize(("path", "member", "skip"), [ANWEB_2019, ANWEB_2020])
def test_real_hcpcs_workbooks(path: Path, member: str, skip: int) -> None:
    frame = read(open_source(path, member), spec("xlsx", skip_rows=skip))
    assert frame.columns[:5] == ["HCPC", "SEQNUM", "RECID", "LONG DESCRIPTION", "SHORT DESCRIPTION"]
    assert "ACTION CD" in frame.columns
    assert all(dtype == pl.String for name, dtype in frame.schema.items() if name != "_line")
    assert frame["_line"][0] == skip + 2  # the first record is just below the header
    trays = codes(frame).filter(pl.col("HCPC") == "A4550")
    assert trays.select("SEQNUM", "RECID", "SHORT DESCRIPTION").row(0) == (
        "0010",
        "3",
        "Surgical trays",
    )
    # Numeric-looking text stays text, with its leading zeros.
    assert frame["SEQNUM"].str.contains(r"^\d{4}$").all()
    assert codes(frame).filter(pl.col("HCPC") == "A1")["ADD DT"].to_list() == ["20020701"]


def test_real_workbook_row_numbers() -> None:
    frame = read(open_source(*ANWEB_2019[:2]), spec("xlsx", skip_rows=7))
    first = frame.row(0, named=True)
    assert (first["HCPC"], first["_line"]) == ("   A1", 9)
    assert frame.height == frame["_line"].n_unique()


def test_cells_read_as_shown(source: Source) -> None:
    data = make_xlsx({"Notes": [["Read me first"]], "Fees": FEES})
    frame = read(source(data, "fees.xlsx"), spec("xlsx", sheet="Fees", skip_rows=2))
    assert frame.columns == ["CODE", "RVU", "EFFECTIVE", "ACTIVE", "_line"]
    assert frame.rows() == [
        ("97110", "0.45", "2024-01-01", "true", 5),
        ("0591T", "1.5", "2024-01-01 12:00:00", "false", 6),
        ("G0283", "2", "20240101", None, 8),
    ]


def test_sheet_by_index_and_header_after_blank_rows(source: Source) -> None:
    data = make_xlsx({"Notes": [["Read me first"]], "Fees": FEES})
    by_index = read(source(data, "fees.xlsx"), spec("xlsx", sheet=1, skip_rows=2))
    no_skip = read(source(data, "fees.xlsx"), spec("xlsx", sheet=1, skip_rows=3))
    assert by_index.equals(no_skip)
    assert by_index["CODE"].to_list() == ["97110", "0591T", "G0283"]


def test_unnamed_column_with_values_names_its_letter(source: Source) -> None:
    data = make_xlsx({"Fees": FEES})
    with pytest.raises(InputError, match="values but no header") as err:
        read(source(data, "fees.xlsx"), spec("xlsx", skip_rows=1))
    assert (err.value.line, err.value.column) == (2, "C")


def test_header_names_must_be_unique(source: Source) -> None:
    data = make_xlsx({"S": [["CODE", "DESC", "CODE "], ["A4550", "Surgical trays", "x"]]})
    with pytest.raises(InputError, match=r"'CODE' is not unique \(also column A\)") as err:
        read(source(data, "s.xlsx"), spec("xlsx"))
    assert err.value.column == "C"


def test_header_only_gives_no_rows(source: Source) -> None:
    frame = read(source(make_xlsx({"S": [["CODE", "DESC"]]}), "s.xlsx"), spec("xlsx"))
    assert frame.columns == ["CODE", "DESC", "_line"]
    assert frame.height == 0


@pytest.mark.parametrize("skip", [0, 30])
def test_no_header_row(source: Source, skip: int) -> None:
    data = make_xlsx({"S": [[None], [None, "CODE"]] if skip else [[]]})
    with pytest.raises(InputError, match="no header row"):
        read(source(data, "s.xlsx"), spec("xlsx", skip_rows=skip))


def test_missing_sheet_lists_the_sheets(source: Source) -> None:
    data = make_xlsx({"Notes": [["x"]], "Fees": FEES})
    with pytest.raises(InputError, match=r"no sheet 'Codes' \(sheets: 'Notes', 'Fees'\)"):
        read(source(data, "fees.xlsx"), spec("xlsx", sheet="Codes"))
    with pytest.raises(InputError, match="no sheet 5"):
        read(source(data, "fees.xlsx"), spec("xlsx", sheet=5))


@pytest.mark.parametrize(
    "data",
    [
        b"HCPC,SEQNUM\nA4550,0010\n",
        make_xlsx({"S": [["CODE"]]})[:300],
        open_source(*ANWEB_2020[:2]).data[:20000],
    ],
    ids=["csv", "truncated-xlsx", "truncated-xls"],
)
def test_not_a_spreadsheet(source: Source, data: bytes) -> None:
    with pytest.raises(InputError, match=r"release\.xlsx: not a readable \.xlsx or \.xls"):
        read(source(data, "release.xlsx"), spec("xlsx"))


@pytest.mark.parametrize("options", [{"sheet": -1}, {"sheet": ""}, {"skip_rows": "7"}])
def test_bad_options(source: Source, options: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="xlsx reader"):
        read(source(make_xlsx({"S": [["CODE"]]}), "s.xlsx"), spec("xlsx", **options))


def zipped(workbook: bytes, member: str = "PFREV24A.xlsx") -> bytes:
    """A release zip holding the workbook, as publishers ship them."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("README.txt", "Illustrative fee schedule")
        archive.writestr(member, workbook)
    return buf.getvalue()


def test_through_the_dispatcher(write: Callable[..., Path]) -> None:
    rows = [["Code", "Work RVU", "Effective"], ["97110", 0.45, "20240101"]]
    rows += [["G0283", 0.18, "20240101"], ["97140", 0.43, "20240101"]]
    options = {
        "columns": {"Code": "code", "Work RVU": "work_rvu", "Effective": "effective"},
        "types": {"work_rvu": "decimal", "effective": "date"},
        "date_format": "%Y%m%d",
    }
    reader = ReaderSpec(format="xlsx", member="*.xlsx", options=options)
    data = read_source(write(zipped(make_xlsx({"S": rows})), "f.zip"), reader, ["code"])
    assert data.frame.rows() == [
        ("97110", Decimal("0.45"), date(2024, 1, 1)),
        ("97140", Decimal("0.43"), date(2024, 1, 1)),
        ("G0283", Decimal("0.18"), date(2024, 1, 1)),
    ]
    rows[2][2] = "2024-01-01"
    with pytest.raises(InputError, match="'2024-01-01' is not a date") as err:
        read_source(write(zipped(make_xlsx({"S": rows})), "f.zip"), reader, ["code"])
    assert (err.value.line, err.value.column) == (3, "effective")


def test_bare_workbook_through_the_dispatcher(write: Callable[..., Path]) -> None:
    """An .xlsx is a zip too, but open_source must hand it over whole."""
    path = write(make_xlsx({"S": [["Code"], ["97110"]]}), "codes.xlsx")
    data = read_source(path, spec("xlsx"), ["Code"])
    assert data.frame["Code"].to_list() == ["97110"]
