"""The quarterly HCPCS reader (`hcpcs-anweb-csv`), on the 15 bundled quarters and on small
tables in the same layout."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipeline.codesets.hcpcs.anweb import COLUMNS
from pipeline.codesets.hcpcs.anweb_csv import HEADER
from pipeline.codesets.reading import read_source
from pipeline.errors import InputError
from pipeline.spec import ReaderSpec
from pipeline.store import content_digest
from tests.conftest import REPO

QUARTERLY = REPO / "sources" / "hcpcs-quarterly"
MANIFEST = json.loads((REPO / "sources" / "sourcelock" / "manifest.json").read_text())
RELEASES = MANIFEST["hcpcs_releases"]
AUTO = ReaderSpec(format="auto")
READER = ReaderSpec(format="hcpcs-anweb-csv")
#: The ANWEB reader's columns that the subset keeps.
KEPT = [c for c in COLUMNS if c in {"code", "record_type", "long_description"}] + [
    "short_description",
    "add_date",
    "action_effective_date",
    "termination_date",
    "action_code",
]


def quarter(label: str) -> pl.DataFrame:
    return read_source(QUARTERLY / f"hcpcs_{label}.zip", AUTO, ["code"]).frame


@pytest.mark.parametrize("label", sorted(RELEASES))
def test_each_bundled_quarter_is_sourcelocks_table_and_reads(label: str) -> None:
    """The member is byte for byte the table whose sha256 sourcelock's manifest records;
    one row per first record (id 3 or 7), detected by `auto`."""
    release = RELEASES[label]
    with zipfile.ZipFile(QUARTERLY / f"hcpcs_{label}.zip") as archive:
        (member,) = archive.namelist()
        data = archive.read(member)
    assert hashlib.sha256(data).hexdigest() == release["canonical_sha256"]
    rows = list(csv.reader(io.StringIO(data.decode())))[1:]
    assert len(rows) == release["row_count"]
    read = read_source(QUARTERLY / f"hcpcs_{label}.zip", AUTO, ["code"])
    assert read.reader == "hcpcs-anweb-csv"
    assert read.frame.columns == KEPT
    assert read.frame.height == sum(1 for r in rows if r[2] in ("3", "7"))
    assert read.frame["code"].is_sorted()


def test_continuations_are_joined_into_the_long_description() -> None:
    """Modifier AB (added 2023) runs over five records in the 2026Q3 file."""
    ab = quarter("2026q3").filter(pl.col("code") == "AB").row(0, named=True)
    assert ab["record_type"] == "modifier"
    assert ab["long_description"] == (
        "Audiology service furnished personally by an audiologist without a physician/npp "
        "order for non-acute hearing assessment unrelated to disequilibrium, or hearing aids, "
        "or examinations for the purpose of prescribing, fitting, or changing hearing aids; "
        "service may be performed once every 12 months, per beneficiary"
    )
    assert ab["short_description"] == "Aud svs w/o order evry 12mo"
    assert ab["add_date"] == date(2023, 1, 1)


def test_discontinued_codes_stay_listed_with_their_termination_date() -> None:
    frame = quarter("2026q1")
    ended = frame.filter(pl.col("termination_date").is_not_null())
    assert ended.height > 0
    discontinued = frame.filter(pl.col("action_code") == "D")
    assert discontinued.height == 95
    assert discontinued["termination_date"].null_count() == 0


def test_new_clinic_modifier_of_2026q3() -> None:
    """2026Q3 adds modifier AC, effective 2026-07-01, with action code A."""
    ac = quarter("2026q3").filter(pl.col("code") == "AC").row(0, named=True)
    assert (ac["action_code"], ac["add_date"]) == ("A", date(2026, 7, 1))
    assert ac["long_description"].endswith("first month only; once per beneficiary per track")
    assert quarter("2026q2").filter(pl.col("code") == "AC").height == 0


ANWEB_RECORD = re.compile(r"^[A-Z0-9 ]{5}[0-9]{5}[3478]")


def derive(anweb: str) -> str:
    """sourcelock's derivation (`sources/sourcelock/regenerate.py`, `_parse_hcpcs`) of an
    ANWEB text: the kept columns, stripped; CPT- and CDT-shaped codes dropped. Lines that are
    not records (the 2020 file's disclaimer) are skipped, as the ANWEB reader skips them."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for line in anweb.splitlines():
        if not ANWEB_RECORD.match(line):
            continue
        line = line.ljust(320)
        code = line[0:5].strip()
        if re.match(r"^(\d|D)[0-9A-Z]{4}$", code):
            continue
        spans = ((5, 10), (10, 11), (11, 91), (91, 119), (268, 276), (276, 284), (284, 292))
        writer.writerow([code, *(line[a:b].strip() for a, b in spans), line[292:293].strip()])
    return out.getvalue()


@pytest.mark.parametrize(
    ("year", "member"),
    [(2019, "HCPC2019_CONTR_ANWEB.txt"), (2020, "HCPC2020_ANWEB_w_disclaimer.txt")],
)
def test_same_content_same_digest_as_the_anweb_reader(
    tmp_path: Path, year: int, member: str
) -> None:
    """An annual ANWEB file put through sourcelock's derivation reads to the ANWEB reader's
    frame restricted to the kept columns: same rows, same values, same digest."""
    zipped = REPO / "sources" / "hcpcs" / f"{year}-Alpha-Numeric-HCPCS-File.zip"
    anweb = read_source(zipped, ReaderSpec(format="hcpcs-anweb", member=member), ["code"]).frame
    with zipfile.ZipFile(zipped) as archive:
        text = archive.read(member).decode("cp1252")
    table = tmp_path / f"hcpcs_{year}.csv"
    table.write_text(derive(text), encoding="utf-8")
    subset = read_source(table, AUTO, ["code"])
    assert subset.reader == "hcpcs-anweb-csv"
    expected = anweb.filter(~pl.col("code").str.contains(r"^(\d|D)[0-9A-Z]{4}$")).select(KEPT)
    assert subset.frame.height == expected.height > 6000
    assert content_digest(subset.frame) == content_digest(expected)


ROWS = [
    "B4100,00100,3,Food thickener administered orally per,Food thickener oral,20040101,20040101,,N",
    "B4100,00200,4,oz,,,,,",
    "G0283,00100,3,Electrical stimulation (unattended) to one or more areas for indication"
    "(s) other than wound care,Elec stim other than wound,20020101,20100101,,N",
    "G8978,00100,3,Mobility: walking & moving around functional limitation current status,"
    "Mobility current status,20130101,20200101,20191231,D",
]


def write(tmp_path: Path, rows: list[str], header: str = ",".join(HEADER)) -> Path:
    path = tmp_path / "hcpcs_2026q3.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_small_table(tmp_path: Path) -> None:
    frame = read_source(write(tmp_path, ROWS), READER, ["code"]).frame
    assert frame["code"].to_list() == ["B4100", "G0283", "G8978"]
    assert frame["long_description"][0] == "Food thickener administered orally per oz"
    g8978 = frame.row(2, named=True)
    assert (g8978["termination_date"], g8978["action_code"]) == (date(2019, 12, 31), "D")


def test_continuations_follow_their_sequence_numbers(tmp_path: Path) -> None:
    """Records of one code are put in sequence order before the description is joined."""
    rows = [
        "AB,00100,7,Audiology service,Aud svs,20230101,20230101,,N",
        "AB,00300,8,once every 12 months,,,,,",
        "AB,00200,8,performed,,,,,",
    ]
    frame = read_source(write(tmp_path, rows), READER, ["code"]).frame
    assert frame["long_description"].to_list() == [
        "Audiology service performed once every 12 months"
    ]


def expect_error(path: Path, match: str) -> InputError:
    with pytest.raises(InputError, match=match) as info:
        read_source(path, READER, ["code"])
    return info.value


@pytest.mark.parametrize(
    ("row", "line", "column", "match"),
    [
        ("B4100,00100,5,x,x,20040101,20040101,,N", 2, "record_id", "record id '5'"),
        ("B4100,1,3,x,x,20040101,20040101,,N", 2, "seq", "sequence '1' is not 5 digits"),
        ("B4100,00100,3,x,x,20040101,20040101,,Q", 2, "action_code", "action code 'Q'"),
        ("B4100,00100,3,x,x,2004-01-01,20040101,,N", 2, "code_added", "not a date"),
        ("B4100,00100,3,x,x,20040101,20041301,,N", 2, "action_effective_date", "not a date"),
        ("B41,00100,3,x,x,20040101,20040101,,N", 2, "code", "not a 5-character code"),
        ("B4100,00100,3,x,x,20040101,20040101,N", 2, None, "expected 9 fields, found 8"),
    ],
)
def test_bad_records_are_located(
    tmp_path: Path, row: str, line: int, column: str | None, match: str
) -> None:
    error = expect_error(write(tmp_path, [row]), match)
    assert (error.line, error.column) == (line, column)


def test_continuation_carrying_a_date_is_refused(tmp_path: Path) -> None:
    rows = [ROWS[0], "B4100,00200,4,oz,,,,20250101,"]
    error = expect_error(write(tmp_path, rows), "only the long description continues")
    assert (error.line, error.column) == (3, "termination")


def test_orphan_continuation_is_refused(tmp_path: Path) -> None:
    rows = [ROWS[0], "G0283,00200,4,oz,,,,,"]
    assert expect_error(write(tmp_path, rows), "does not follow").line == 3


def test_repeated_sequence_is_refused(tmp_path: Path) -> None:
    rows = [ROWS[0], "B4100,00100,4,oz,,,,,"]
    error = expect_error(write(tmp_path, rows), "repeats or precedes")
    assert (error.line, error.column) == (3, "seq")


def test_wrong_header_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, ROWS, header="code,seq,record_id,long_description")
    assert expect_error(path, "expected the header").line == 1


def test_truncated_last_record_is_refused(tmp_path: Path) -> None:
    """A download cut short ends inside a record, without its line break."""
    path = write(tmp_path, ROWS)
    path.write_bytes(path.read_bytes()[:-12])
    error = expect_error(path, "truncated file")
    assert error.line == 5


def test_header_only_is_refused(tmp_path: Path) -> None:
    assert expect_error(write(tmp_path, []), "no HCPCS records").line == 2
