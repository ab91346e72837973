"""The HCPCS spreadsheet reader against the ANWEB text reader, on CMS's real annual files.

Where a year's spreadsheet and text file disagree, CMS published different data in
them (checked cell by cell in the workbooks and the text records); the tests pin
exactly those differences, and that nothing else differs.
"""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

import polars as pl
import pytest

from pipeline.codesets.hcpcs.xlsx import HEADERS, sniff
from pipeline.codesets.reading import read_source
from pipeline.errors import InputError
from pipeline.sources.base import open_source
from pipeline.spec import ReaderSpec
from pipeline.store.snapshots import content_digest
from tests.conftest import REPO

BUNDLED = REPO / "sources" / "hcpcs"
TEXT = ReaderSpec(format="hcpcs-anweb", member="*ANWEB*.txt")
SHEET = ReaderSpec(format="hcpcs-xlsx", member="*ANWEB*.xls*")


def zip_of(year: int) -> Path:
    return BUNDLED / f"{year}-Alpha-Numeric-HCPCS-File.zip"


def both(year: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    text = read_source(zip_of(year), TEXT, ["code"]).frame
    sheet = read_source(zip_of(year), SHEET, ["code"]).frame
    return text, sheet


def differences(text: pl.DataFrame, sheet: pl.DataFrame) -> dict[str, dict[str, tuple]]:
    """column -> code -> (text value, spreadsheet value), for every cell that differs."""
    assert text["code"].to_list() == sheet["code"].to_list()
    out: dict[str, dict[str, tuple]] = {}
    for column in text.columns:
        differ = text[column].ne_missing(sheet[column])
        if differ.any():
            rows = zip(
                text["code"].filter(differ),
                text[column].filter(differ),
                sheet[column].filter(differ),
                strict=True,
            )
            out[column] = {code: (a, b) for code, a, b in rows}
    return out


@pytest.mark.parametrize(
    ("year", "member"),
    [(2018, "HCPC2018_CONTR_ANWEB_disc.xlsx"), (2020, "HCPC2020_ANWEB_w_disclaimer.xls")],
)
def test_spreadsheet_gives_the_text_files_snapshot(year: int, member: str) -> None:
    """2018 (a disclaimer above the header) and 2020 (legacy .xls, a longer disclaimer,
    a continued long description) read to the very frame of the text file."""
    data = read_source(zip_of(year), SHEET, ["code"])
    text = read_source(zip_of(year), TEXT, ["code"]).frame
    assert data.raw.member == member
    assert data.frame.schema == text.schema
    assert data.frame.equals(text)
    assert content_digest(data.frame) == content_digest(text)


def test_2017_spreadsheet_differs_from_its_text_file_in_three_action_dates() -> None:
    """HCPC17_CONTR_ANWEB.xlsx (dated 2 Nov 2016) and .txt (9 Nov 2016) differ in the
    ACT EFF DT of three codes (text columns 277-284 vs the workbook's cells). The 2018
    file has the workbook's dates (each equal to the code's add date)."""
    text, sheet = both(2017)
    assert differences(text, sheet) == {
        "action_effective_date": {
            "L5638": (date(1996, 1, 1), date(1986, 1, 1)),
            "L5640": (date(1996, 1, 1), date(1986, 1, 1)),
            "L5643": (date(1986, 1, 1), date(1988, 1, 1)),
        }
    }
    patched = sheet.update(text.select("code", "action_effective_date"), on="code")
    assert content_digest(patched) == content_digest(text)


def test_2019_spreadsheet_differs_from_its_text_file_as_documented() -> None:
    """In HCPC2019_CONTR_ANWEB.xlsx, 115 codes (A0130 ... V2522, all action N) have an
    empty ACT EFF DT where the text file repeats the add date, and E0210 / E0776 carry
    a fourth type of service R that the text file lacks. The 2020 text file agrees with
    the workbook on both (no action date; TOS R back)."""
    text, sheet = both(2019)
    found = differences(text, sheet)
    assert set(found) == {"action_effective_date", "type_of_service"}
    assert found["type_of_service"] == {
        "E0210": ("A L P", "A L P R"),
        "E0776": ("A E P", "A E P R"),
    }
    dates = found["action_effective_date"]
    assert len(dates) == 115
    assert {"A0130", "C1883", "G0118", "L5638", "V2522"} <= set(dates)
    assert all(xlsx is None for _, xlsx in dates.values())
    rows = text.filter(pl.col("code").is_in(list(dates)))
    assert (rows["action_effective_date"] == rows["add_date"]).all()
    assert set(rows["action_code"]) == {"N"}
    patched = sheet.update(
        text.select("code", "action_effective_date", "type_of_service"),
        on="code",
        include_nulls=True,
    )
    assert content_digest(patched) == content_digest(text)


def test_continuation_row_joins_the_long_description() -> None:
    """G0503's long description runs onto a RECID 4 row in the 2019 and 2020 workbooks."""
    text, sheet = both(2019)
    pick = pl.col("code") == "G0503"
    assert sheet.filter(pick)["long_description"].item() == (
        text.filter(pick)["long_description"].item()
    )
    assert "goals and are prepared for discharge" in sheet.filter(pick)["long_description"].item()


@pytest.mark.parametrize(
    ("year", "member", "expected"),
    [
        (2017, "*ANWEB*.xlsx", True),
        (2020, "*ANWEB*.xls", True),
        (2019, "*ANWEB*.txt", False),
        (2019, "*Trans*.xlsx", False),
    ],
)
def test_sniff(year: int, member: str, expected: bool) -> None:
    assert sniff(open_source(zip_of(year), member)) is expected


# Small workbooks for the error paths: an xlsx is a zip of XML parts.
_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_PARTS = {
    "[Content_Types].xml": f'<Types xmlns="{_PKG}/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
    'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    'spreadsheetml.worksheet+xml"/></Types>',
    "_rels/.rels": f'<Relationships xmlns="{_PKG}/relationships"><Relationship Id="rId1" '
    f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": f'<workbook {_NS} xmlns:r="{_REL}"><sheets><sheet name="A" '
    'sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{_PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>",
}
HEADER_ROW = [h for hs in HEADERS.values() for h in hs]


def _column(i: int) -> str:
    return ("" if i < 26 else chr(64 + i // 26)) + chr(65 + i % 26)


def write_xlsx(path: Path, rows: list[list[str]]) -> Path:
    cells = "".join(
        f'<row r="{r}">'
        + "".join(
            f'<c r="{_column(c)}{r}" t="inlineStr"><is><t>{escape(v)}</t></is></c>'
            for c, v in enumerate(row)
            if v
        )
        + "</row>"
        for r, row in enumerate(rows, start=1)
    )
    with zipfile.ZipFile(path, "w") as archive:
        for name, xml in _PARTS.items():
            archive.writestr(name, xml)
        archive.writestr(
            "xl/worksheets/sheet1.xml",
            f"<worksheet {_NS}><sheetData>{cells}</sheetData></worksheet>",
        )
    return path


def record(code: str, recid: str = "3", action: str = "N", long: str = "Thing") -> list[str]:
    values = {"HCPC": code, "RECID": recid, "LONG DESCRIPTION": long, "ACTION CD": action}
    values |= {"SHORT DESCRIPTION": "Thing", "ADD DT": "20190101"} if recid in "37" else {}
    return [values.get(h, "") for h in HEADER_ROW]


def read_xlsx(tmp_path: Path, rows: list[list[str]]) -> pl.DataFrame:
    path = write_xlsx(tmp_path / "HCPC_ANWEB.xlsx", rows)
    return read_source(path, ReaderSpec(format="hcpcs-xlsx"), ["code"]).frame


def test_small_workbook_reads_with_disclaimer_and_continuation(tmp_path: Path) -> None:
    rows = [["Disclaimer"], [], HEADER_ROW, record("A0001"), record("A0001", "4", long="more")]
    frame = read_xlsx(tmp_path, [*rows, record("   CO", "7")])
    assert frame["code"].to_list() == ["A0001", "CO"]
    assert frame["long_description"].to_list() == ["Thing more", "Thing"]
    assert frame["record_type"].to_list() == ["procedure", "modifier"]
    assert frame["add_date"].to_list() == [date(2019, 1, 1)] * 2


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["Disclaimer"], record("A0001")], "no HCPCS header row"),
        ([HEADER_ROW[:-1], record("A0001")], "no HCPCS header row"),
        ([[*HEADER_ROW, "HCPC"], record("A0001")], "'HCPC' appear twice"),
        ([HEADER_ROW, record("A0001", action="X")], "action code 'X'"),
        ([HEADER_ROW, record("A01")], "'A01' is not a 5-character code"),
        ([HEADER_ROW, record("A0001", "5")], "RECID '5'"),
        ([HEADER_ROW, record("A0001", "4")], "does not follow"),
    ],
)
def test_bad_workbooks_are_rejected(tmp_path: Path, rows: list, message: str) -> None:
    with pytest.raises(InputError, match=message):
        read_xlsx(tmp_path, rows)


def test_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "HCPC_ANWEB.xlsx"
    path.write_bytes(b"plain text, not a workbook")
    with pytest.raises(InputError, match="not a readable xlsx/xls workbook"):
        read_source(path, ReaderSpec(format="hcpcs-xlsx"), ["code"])


def test_detection_picks_the_data_workbook_not_the_change_report() -> None:
    from pipeline.codesets.detect import detect

    fmt, raw = detect(zip_of(2020), None, ("hcpcs-xlsx",))
    assert (fmt, raw.member) == ("hcpcs-xlsx", "HCPC2020_ANWEB_w_disclaimer.xls")
