"""The HCPCS ANWEB reader, on CMS's real annual files and on small files in the same layout."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipeline.codesets.hcpcs.anweb import COLUMNS
from pipeline.codesets.reading import read_source
from pipeline.errors import InputError
from pipeline.spec import ReaderSpec
from tests.conftest import REPO
from tests.helpers import G8978_ACTIVE, Hcpcs, anweb_text, hcpcs_2019, write_anweb

READER = ReaderSpec(format="hcpcs-anweb", member="*ANWEB*.txt")
BUNDLED = REPO / "sources" / "hcpcs"


def read_year(year: int) -> pl.DataFrame:
    return read_source(BUNDLED / f"{year}-Alpha-Numeric-HCPCS-File.zip", READER, ["code"]).frame


def read_text(tmp_path: Path, text: str | bytes) -> pl.DataFrame:
    path = tmp_path / "HCPC_ANWEB.txt"
    path.write_bytes(text.encode("cp1252") if isinstance(text, str) else text)
    return read_source(path, ReaderSpec(format="hcpcs-anweb"), ["code"]).frame


@pytest.mark.parametrize(
    ("year", "rows", "member"),
    [
        (2017, 6498, "HCPC17_CONTR_ANWEB.txt"),
        (2018, 6559, "HCPC2018_CONTR_ANWEB_disc.txt"),
        (2019, 6800, "HCPC2019_CONTR_ANWEB.txt"),
        (2020, 7079, "HCPC2020_ANWEB_w_disclaimer.txt"),
    ],
)
def test_reads_each_real_annual_file(year: int, rows: int, member: str) -> None:
    """Row counts are the number of record-id 3 and 7 lines in each file."""
    data = read_source(BUNDLED / f"{year}-Alpha-Numeric-HCPCS-File.zip", READER, ["code"])
    assert data.raw.member == member
    assert data.frame.height == rows
    assert tuple(data.frame.columns) == COLUMNS
    assert data.frame["code"].is_sorted()


def test_2020_disclaimer_preamble_and_windows_1252_are_handled() -> None:
    data = read_year(2020)
    g8978 = data.filter(pl.col("code") == "G8978").row(0, named=True)
    assert g8978["termination_date"] == date(2019, 12, 31)
    assert g8978["add_date"] == date(2013, 1, 1)
    assert g8978["action_code"] == "D"
    assert g8978["long_description"].startswith("Mobility: walking & moving around")


def test_modifiers_are_codes_of_their_own() -> None:
    data = read_year(2019)
    cq = data.filter(pl.col("code") == "CQ").row(0, named=True)
    assert cq["record_type"] == "modifier"
    assert cq["long_description"] == (
        "Outpatient physical therapy services furnished in whole or in part by a physical "
        "therapist assistant"
    )
    assert data.filter(pl.col("record_type") == "modifier").height == 360


def test_multi_occurrence_fields_keep_every_value() -> None:
    """G0283 has a type of service and one pricing indicator; lab codes list several
    certification codes (cols 181-204, eight occurrences of three characters)."""
    data = read_year(2019)
    labs = data.filter(pl.col("lab_certification").str.contains(" "))
    assert labs.height > 0
    assert all(len(p) == 3 for v in labs["lab_certification"] for p in v.split(" "))


def test_publisher_slip_in_2018_asc_dates_is_realigned() -> None:
    """In five 2018 records CMS shifted the ASC effective date two columns left."""
    c9488 = read_year(2018).filter(pl.col("code") == "C9488").row(0, named=True)
    assert c9488["asc_effective_date"] == date(2017, 4, 1)
    assert c9488["asc_group"] is None


def test_continuations_join_and_whitespace_is_normalised(tmp_path: Path) -> None:
    long = "word " * 30 + "end"
    data = read_text(tmp_path, anweb_text([Hcpcs("A0001", long.strip(), "Short  text")]))
    row = data.row(0, named=True)
    assert row["long_description"] == " ".join(long.split())
    assert row["short_description"] == "Short text"


def test_preamble_before_the_first_record_is_skipped(tmp_path: Path) -> None:
    data = read_text(
        tmp_path, anweb_text(hcpcs_2019(), preamble="***Disclaimers\r\n\r\nCMS’ note\r\n")
    )
    assert data.height == 5


def expect_error(tmp_path: Path, text: str | bytes, match: str) -> InputError:
    with pytest.raises(InputError, match=match) as info:
        read_text(tmp_path, text)
    assert "HCPC_ANWEB.txt" in str(info.value)
    return info.value


def test_truncated_record_names_its_line(tmp_path: Path) -> None:
    text = anweb_text(hcpcs_2019())
    cut = text[: text.rindex("\r\n", 0, len(text) - 2) + 2] + "G9999001003Cut off mid-rec"
    error = expect_error(tmp_path, cut, "truncated")
    assert error.line == text.count("\r\n")  # the last line was replaced by the cut one


def test_stray_line_after_records_is_rejected(tmp_path: Path) -> None:
    text = anweb_text(hcpcs_2019()) + "this is not a record\r\n"
    error = expect_error(tmp_path, text, "expected an ANWEB record")
    assert error.line == text.count("\r\n")


def test_unknown_action_code_is_rejected(tmp_path: Path) -> None:
    bad = Hcpcs("G0283", "Electrical stimulation", "Elec stim", action="Z")
    error = expect_error(tmp_path, anweb_text([bad]), "action code 'Z'")
    assert (error.line, error.column) == (1, 293)


def test_unparseable_date_names_line_and_column(tmp_path: Path) -> None:
    bad = Hcpcs("G0283", "Electrical stimulation", "Elec stim", add="20191399")
    error = expect_error(tmp_path, anweb_text([G8978_ACTIVE, bad]), "not a date")
    assert (error.line, error.column) == (3, "add_date")


def test_orphan_continuation_is_rejected(tmp_path: Path) -> None:
    text = anweb_text([Hcpcs("G0283", "x " * 50, "Elec stim")])
    lines = text.split("\r\n")
    orphan = "G0284" + lines[1][5:]
    expect_error(tmp_path, "\r\n".join([lines[0], orphan, ""]), "does not follow")


def test_duplicate_codes_are_listed_with_their_lines(tmp_path: Path) -> None:
    text = anweb_text([G8978_ACTIVE, G8978_ACTIVE])
    expect_error(tmp_path, text, r"duplicate key code: G8978 \(lines 1, 3\)")


def test_prose_file_has_no_records(tmp_path: Path) -> None:
    expect_error(tmp_path, "Just a disclaimer.\r\nNo records.\r\n", "no HCPCS records")


def test_binary_file_is_rejected(tmp_path: Path) -> None:
    expect_error(tmp_path, b"PK\x05\x06" + b"\x00" * 30, "binary data|not a valid zip")


def test_empty_file_is_rejected(tmp_path: Path) -> None:
    expect_error(tmp_path, b"", "empty")


def test_same_content_in_a_zip_or_plain(tmp_path: Path) -> None:
    import zipfile

    plain = write_anweb(tmp_path / "HCPC_ANWEB.txt", hcpcs_2019())
    archive = tmp_path / "release.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(plain, "HCPC_ANWEB.txt")
        zf.writestr("README.txt", "notes")
    a = read_source(plain, ReaderSpec(format="hcpcs-anweb"), ["code"]).frame
    b = read_source(archive, READER, ["code"]).frame
    assert a.equals(b)
