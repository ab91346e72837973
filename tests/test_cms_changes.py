"""CMS's "Changes by Action Code" reports, read from the bundled annual zips."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipeline.cms_changes import action_counts, compare_actions, read_change_report
from pipeline.config import ReaderSpec
from pipeline.errors import InputError
from pipeline.sources import read_source
from tests.conftest import REPO

BUNDLED = REPO / "sources" / "hcpcs"


def zip_of(year: int) -> Path:
    return BUNDLED / f"{year}-Alpha-Numeric-HCPCS-File.zip"


# Counted by hand from each zip's *ChangesbyAction*.prn / Changes_by_ActionCode.prn:
#   tr -d '\r' < FILE | cut -c9-34 | sort | uniq -c    (2019; 2020: cut -c9-35)
#   tr -d '\r' < FILE | awk 'NR>1 {$1=""; print}' | sort | uniq -c    (2017, 2018)
# and equal to the "Changes by Action Code" sheet of the same zip's *Trans* workbook.
# 2018 lists "No Change" 6230 times and "No change" once: N = 6231.
COUNTS = {
    2017: {"A": 278, "B": 1, "C": 124, "D": 147, "F": 1, "N": 5902, "P": 38, "R": 1, "S": 2}
    | {"T": 4},
    2018: {"A": 152, "B": 0, "C": 50, "D": 40, "F": 2, "N": 6231, "P": 64, "R": 0, "S": 19}
    | {"T": 0},
    2019: {"A": 228, "B": 1, "C": 94, "D": 49, "F": 1, "N": 6372, "P": 47, "R": 0, "S": 8}
    | {"T": 0},
    2020: {"A": 250, "B": 0, "C": 70, "D": 99, "F": 0, "N": 6648, "P": 10, "R": 0, "S": 2}
    | {"T": 0},
}


@pytest.mark.parametrize("year", sorted(COUNTS))
def test_action_counts_of_each_report(year: int) -> None:
    report = read_change_report(zip_of(year))
    assert action_counts(report) == COUNTS[year]
    assert report.height == sum(COUNTS[year].values())
    assert report["code"].is_unique().all()


@pytest.mark.parametrize("year", [2017, 2019, 2020])
def test_report_matches_the_files_action_codes(year: int) -> None:
    """The report is the annual file's ACTION CD spelled out, code for code."""
    reader = ReaderSpec(format="hcpcs-anweb", member="*ANWEB*.txt")
    snapshot = read_source(zip_of(year), reader, ["code"]).frame
    assert compare_actions(read_change_report(zip_of(year)), snapshot).is_empty()


def test_2018_report_predates_the_march_reissue() -> None:
    """The report (November 2017) lacks modifier L1, which the March 2018 re-issue of the
    file lists again (terminated 2016-12-31, action N); everything else agrees."""
    reader = ReaderSpec(format="hcpcs-anweb", member="*ANWEB*.txt")
    snapshot = read_source(zip_of(2018), reader, ["code"]).frame
    mismatch = compare_actions(read_change_report(zip_of(2018)), snapshot)
    assert mismatch.rows() == [("L1", None, "N")]


def test_labels_cut_short_by_the_report_layout() -> None:
    """2019 cuts the type of change at 22 characters ("Long Description Chang")."""
    report = read_change_report(zip_of(2019))
    row = report.filter(pl.col("code") == "QE").row(0, named=True)
    assert (row["label"], row["action"]) == ("Long Description Chang", "C")
    labels = dict(report.select("label", "action").unique().iter_rows())
    assert labels["Coverage and Long Desc"] == "B"
    assert labels["Short Description Chan"] == "S"


def test_therapy_codes() -> None:
    """CO and CQ (therapy assistant modifiers) added in 2019; G8978 discontinued in 2020."""
    actions = dict(read_change_report(zip_of(2019)).select("code", "action").iter_rows())
    assert (actions["CO"], actions["CQ"]) == ("A", "A")
    report = read_change_report(zip_of(2020))
    g8978 = report.filter(pl.col("code") == "G8978").row(0, named=True)
    assert (g8978["action"], g8978["label"]) == ("D", "Discontinued")
    assert g8978["_line"] > 11  # after the 2020 disclaimer and header


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "Changes_by_ActionCode.prn"
    path.write_text(text, encoding="cp1252")
    return path


HEADER = "HCPCS/Modifier Code Type of Change\r\n"


def test_a_plain_report_file(tmp_path: Path) -> None:
    text = (
        "Disclaimer \u2019\r\n\r\n"
        + HEADER
        + "\r\n   CO               ADD\r\nA0001  Re-activated\r\n"
    )
    report = read_change_report(write(tmp_path, text))
    assert report.select("code", "action").rows() == [("CO", "A"), ("A0001", "R")]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("A0001   Renamed\r\n", "'Renamed' matches no action"),
        ("A0001   Coverage\r\n", r"'Coverage' is ambiguous \(B, F\)"),
        ("A0001\r\n", "'' matches no action"),
        ("A01     ADD\r\n", "'A01' is not a HCPCS code"),
        ("A0001   ADD\r\nA0001   ADD\r\n", "listed twice"),
        ("\r\n", "lists no codes"),
    ],
)
def test_unreadable_reports_are_rejected(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        read_change_report(write(tmp_path, HEADER + body))


def test_no_header(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no 'HCPCS"):
        read_change_report(write(tmp_path, "A0001   ADD\r\n"))


def test_zip_without_a_report(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "annual.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("HCPC_ANWEB.txt", "x")
    with pytest.raises(InputError, match="no member matches"):
        read_change_report(path)
