"""The ICD-10-CM code-descriptions reader (`icd10cm-codes`), on the four bundled fiscal
years (the publishers' files, checked against their sha256) and on small files."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import polars as pl
import pytest

from pipeline.codesets.icd10cm.order import COLUMNS
from pipeline.codesets.reading import read_source
from pipeline.errors import ConfigError, InputError
from pipeline.spec import ReaderSpec
from pipeline.store import content_digest
from tests.conftest import REPO

BUNDLED = REPO / "sources" / "icd10cm"
MANIFEST = json.loads((REPO / "sources" / "sourcelock" / "manifest.json").read_text())
READER = ReaderSpec(format="icd10cm-codes")
AUTO = ReaderSpec(format="auto")
#: fiscal year -> (zip here, billable codes)
EDITIONS = {
    "fy2024": ("icd10cm-codes-2024.zip", 74_044),
    "fy2025": ("icd10cm-codes-2025.zip", 74_260),
    "fy2026": ("icd10cm_codes_2026.zip", 74_719),
    "fy2027": ("icd10cm_codes_2027.zip", 74_879),
}


@pytest.mark.parametrize("label", sorted(EDITIONS))
def test_bundled_files_are_the_publishers_and_read(label: str) -> None:
    """Each member's sha256 is the one sourcelock's manifest records for the file inside
    the CDC/CMS zip; `auto` detects the format; one row per billable code."""
    name, count = EDITIONS[label]
    release = MANIFEST["cm_releases"][label]
    with zipfile.ZipFile(BUNDLED / name) as archive:
        (member,) = archive.namelist()
        data = archive.read(member)
    assert member == release["inner_file"].rsplit("/", 1)[-1]
    assert hashlib.sha256(data).hexdigest() == release["inner_sha256"]
    read = read_source(BUNDLED / name, AUTO, ["code"])
    assert read.reader == "icd10cm-codes"
    assert tuple(read.frame.columns) == COLUMNS
    assert read.frame.height == count == release["row_count"]
    assert read.frame["billable"].all()
    assert read.frame["short_title"].null_count() == count


def test_april_updates_are_the_october_files() -> None:
    """CDC/CMS's April updates of FY2024-FY2026 carry the October file unchanged."""
    releases = MANIFEST["cm_releases"]
    for year in ("fy2024", "fy2025", "fy2026"):
        assert releases[f"{year}-april"]["inner_sha256"] == releases[year]["inner_sha256"]


def test_same_codes_as_the_order_file_of_the_same_release(tmp_path: Path) -> None:
    """The 2021 order file's billable codes and long titles, written in the
    code-descriptions layout, read to the order reader's frame minus short titles."""
    order = read_source(
        BUNDLED / "icd10cm-order-Jan-2021.zip", ReaderSpec(format="icd10cm-order"), ["code"]
    ).frame
    text = "".join(f"{c:<8}{t}\r\n" for c, t in order.select("code", "long_title").iter_rows())
    path = tmp_path / "icd10cm-codes-2021.txt"
    path.write_bytes(text.encode("ascii"))
    codes = read_source(path, AUTO, ["code"]).frame
    expected = order.with_columns(pl.lit(None, dtype=pl.String).alias("short_title"))
    assert codes.height == 72_621
    assert content_digest(codes) == content_digest(expected)


LINES = [
    "A000    Cholera due to Vibrio cholerae 01, biovar cholerae",
    "M5450   Low back pain, unspecified",
    "S060X0A Concussion without loss of consciousness, initial encounter",
]


def write(tmp_path: Path, lines: list[str], end: str = "\r\n") -> Path:
    path = tmp_path / "icd10cm_codes_2027.txt"
    path.write_bytes("".join(line + end for line in lines).encode("ascii"))
    return path


def test_small_file(tmp_path: Path) -> None:
    frame = read_source(write(tmp_path, LINES), READER, ["code"]).frame
    assert frame["code"].to_list() == ["A000", "M5450", "S060X0A"]
    assert frame["long_title"][1] == "Low back pain, unspecified"


@pytest.mark.parametrize(
    ("bad", "column", "match"),
    [
        ("A00.0   Cholera", 1, "code in columns 1-7"),
        ("1000    Cholera", 1, "code in columns 1-7"),
        ("M5450", 9, "title from column 9"),
        ("M5450    Low back pain", 9, "title from column 9"),
    ],
)
def test_lines_off_the_layout_are_located(
    tmp_path: Path, bad: str, column: int, match: str
) -> None:
    with pytest.raises(InputError, match=match) as info:
        read_source(write(tmp_path, [LINES[0], bad]), READER, ["code"])
    assert (info.value.line, info.value.column) == (2, column)


def test_truncated_last_line_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, LINES)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(InputError, match="truncated file") as info:
        read_source(path, READER, ["code"])
    assert info.value.line == 3


def test_headers_option_is_refused(tmp_path: Path) -> None:
    reader = ReaderSpec(format="icd10cm-codes", options={"headers": True})
    with pytest.raises(ConfigError, match="billable codes only"):
        read_source(write(tmp_path, LINES), reader, ["code"])


def test_order_file_is_not_taken_for_a_code_descriptions_file(tmp_path: Path) -> None:
    read = read_source(BUNDLED / "icd10cm-order-Jan-2021.zip", AUTO, ["code"])
    assert read.reader == "icd10cm-order"
