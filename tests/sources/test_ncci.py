"""The NCCI PTP reader, on small files in exactly the layout of CMS's real tables."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipeline.codesets.mue.table import sniff
from pipeline.codesets.ncci.ptp import COLUMNS, MODIFIER_INDICATORS, read_ptp, sniff_ptp
from pipeline.codesets.reading import read_source
from pipeline.errors import InputError
from pipeline.sources.base import RawSource
from pipeline.sources.coerce import LINE
from pipeline.spec import ReaderSpec
from tests.sources.test_mue import MUE_BYTES

READER = ReaderSpec(format="ncci-ptp")
KEY = ["column1", "column2"]

#: Lines 1-6 of CMS's `ccipra-v322r0-f1.txt` (practitioner PTP edits v32.2), verbatim:
#: a copyright notice, a title, then the column header spread over four lines.
HEADER = [
    "CPT only copyright 2025 American Medical Association.  All rights reserved.\t\t\t\t\t\t",
    "Column1/Column2 Edits\t\t\t\t\t\t",
    "Column 1\tColumn 2\t*=in existence\tEffective\tDeletion\tModifier\tPTP Edit Rationale",
    "\t\tprior to 1996\tDate\tDate\t0=not allowed\t",
    "\t\t\t\t*=no data\t1=allowed\t",
    "\t\t\t\t\t9=not applicable\t",
]
#: Real records from the same file, verbatim (lines 7-9, 12, 62, 70-71, 160).
RECORDS = [
    "0001A\t0591T\t\t20220101\t20231231\t1\tCPT Manual or CMS manual coding instruction",
    "0001A\t0592T\t\t20220101\t20231231\t1\tCPT Manual or CMS manual coding instruction",
    "0001A\t36591\t\t20220101\t20231231\t0\tCPT Manual or CMS manual coding instruction",
    "0001A\t90473\t\t20220101\t20220101\t9\tCPT Manual or CMS manual coding instruction",
    "0001A\tG0008\t\t20220101\t20220101\t9\tMutually exclusive procedures",
    "0001T\t36000\t\t20021001\t20041231\t1\tStandards of medical/surgical practice",
    "0001U\t80500\t\t20180101\t20211231\t1\tMisuse of Column Two code with Column One code",
    "0001U\t81166\t\t20190101\t*\t1\tMisuse of Column Two code with Column One code",
]
#: The last line of the real excerpt: the record is cut off mid-rationale, no CRLF.
CUT_OFF = "0001U\t81167\t\t20190101\t*\t1\tMisuse of Column T"
#: Not in the excerpt (it has no pre-1996 edit): a record in the same layout, flagged `*`.
PRIOR_1996 = "10021\t36000\t*\t19960101\t*\t1\tStandards of medical/surgical practice"
FIRST = len(HEADER) + 1  # line of the first record


def ptp_bytes(records: list[str] = RECORDS, header: list[str] = HEADER, end: str = "\r\n") -> bytes:
    """A PTP file in the real layout: CRLF line ends, every record ends with CRLF."""
    return (
        "".join(f"{line}\r\n" for line in header + records[:-1]).encode()
        + (records[-1] + end).encode()
    )


def raw(data: bytes, name: str = "ccipra-v322r0-f1.txt") -> RawSource:
    return RawSource(data=data, path=Path(name), member=None, sha256="", size=len(data))


def read(data: bytes) -> pl.DataFrame:
    return read_ptp(raw(data), READER)


def error(data: bytes) -> InputError:
    with pytest.raises(InputError) as info:
        read(data)
    return info.value


def test_reads_real_layout_into_typed_columns(tmp_path: Path) -> None:
    path = tmp_path / "ccipra-v322r0-f1.txt"
    path.write_bytes(ptp_bytes([*RECORDS, PRIOR_1996]))
    frame = read_source(path, ReaderSpec(format="ncci-ptp"), KEY).frame
    assert tuple(frame.columns) == COLUMNS
    assert frame.height == len(RECORDS) + 1
    assert frame.schema["prior_1996"] == pl.Boolean
    assert frame.schema["effective_date"] == frame.schema["deletion_date"] == pl.Date
    pairs = {(r["column1"], r["column2"]): r for r in frame.iter_rows(named=True)}
    assert pairs[("0001A", "90473")] == {
        "column1": "0001A",
        "column2": "90473",
        "prior_1996": False,
        "effective_date": date(2022, 1, 1),
        "deletion_date": date(2022, 1, 1),
        "modifier_indicator": "9",
        "rationale": "CPT Manual or CMS manual coding instruction",
    }
    deleted_never = pairs[("0001U", "81166")]
    assert deleted_never["deletion_date"] is None  # '*' = no deletion date
    assert deleted_never["rationale"] == "Misuse of Column Two code with Column One code"
    assert pairs[("0001A", "36591")]["modifier_indicator"] == "0"
    assert pairs[("10021", "36000")]["prior_1996"] is True
    assert set(frame["modifier_indicator"]) <= set(MODIFIER_INDICATORS)


def test_records_keep_their_source_lines() -> None:
    frame = read(ptp_bytes())
    assert frame[LINE].to_list() == list(range(FIRST, FIRST + len(RECORDS)))


def test_data_start_is_found_by_layout_not_by_count() -> None:
    """Extra notice lines, or a header shortened to one line, move the first record."""
    longer = read(ptp_bytes(header=["Extra notice line", "", *HEADER]))
    assert longer[LINE][0] == FIRST + 2 and longer.height == len(RECORDS)
    shorter = read(ptp_bytes(header=HEADER[:3]))
    assert shorter[LINE][0] == 4 and shorter.height == len(RECORDS)


def test_lf_line_ends_and_trailing_blank_lines_are_accepted() -> None:
    lf = ptp_bytes().replace(b"\r\n", b"\n")
    assert read(lf).height == len(RECORDS)
    assert read(ptp_bytes() + b"\r\n\r\n").height == len(RECORDS)


@pytest.mark.parametrize(
    "cut",
    [CUT_OFF, "0001U\t81167\t\t20190101\t*", "0001U\t811"],
    ids=["mid-rationale", "fewer-fields", "mid-code"],
)
def test_file_cut_off_inside_its_last_record_is_rejected(cut: str) -> None:
    """As the real excerpt ends: the last record has no CRLF, whatever it holds."""
    err = error(ptp_bytes([*RECORDS, cut], end=""))
    assert err.line == FIRST + len(RECORDS)
    assert "cut off" in err.message


@pytest.mark.parametrize(
    ("record", "found"),
    [
        ("0001U\t81167\t\t20190101\t*\t1", 6),
        ("0001U\t81167\t\t20190101\t*\t1\tMisuse of Column T\textra", 8),
        ("0001U\t81167 20190101 * 1", 2),
    ],
)
def test_record_with_wrong_field_count_is_rejected(record: str, found: int) -> None:
    at = 3
    err = error(ptp_bytes([*RECORDS[:at], record, *RECORDS[at:]]))
    assert err.line == FIRST + at
    assert err.message == f"expected 7 tab-separated fields, found {found}"


def test_short_first_record_is_rejected_not_taken_for_header() -> None:
    err = error(ptp_bytes(["0001A\t0591T\t\t20220101\t20231231\t1", *RECORDS]))
    assert err.line == FIRST
    assert "found 6" in err.message


def test_record_missing_its_codes_is_data_not_header() -> None:
    """Empty code cells would pass for a header continuation line, but a date gives it away."""
    err = error(ptp_bytes(["\t\t\t20220101\t20231231\t1\tMutually exclusive procedures", *RECORDS]))
    assert (err.line, err.column) == (FIRST, "column1")


@pytest.mark.parametrize(
    ("index", "value", "column"),
    [
        (0, "0001a", "column1"),
        (1, "0591", "column2"),
        (1, " 0591T", "column2"),
        (2, "Y", "prior_1996"),
        (3, "20220230", "effective_date"),
        (3, "2022011", "effective_date"),
        (4, "", "deletion_date"),
        (4, "**", "deletion_date"),
        (5, "2", "modifier_indicator"),
        (5, "", "modifier_indicator"),
    ],
)
def test_bad_value_names_line_and_column(index: int, value: str, column: str) -> None:
    fields = RECORDS[4].split("\t")
    fields[index] = value
    err = error(ptp_bytes([*RECORDS[:4], "\t".join(fields), *RECORDS[5:]]))
    assert (err.line, err.column) == (FIRST + 4, column)
    assert repr(value) in err.message


def test_duplicated_pair_is_an_error_listing_it(tmp_path: Path) -> None:
    path = tmp_path / "ccipra.txt"
    path.write_bytes(ptp_bytes([*RECORDS, RECORDS[1]]))
    with pytest.raises(InputError, match=r"0001A/0592T \(lines 8, 15\)"):
        read_source(path, READER, KEY)


def test_header_without_edits_is_rejected() -> None:
    with pytest.raises(InputError, match="no edits after the column header"):
        read("".join(f"{line}\r\n" for line in HEADER).encode())


def test_mue_table_is_rejected_not_half_read(tmp_path: Path) -> None:
    path = tmp_path / "MCR_MUE_PractitionerServices_Eff_10-01-2026.csv"
    path.write_bytes(MUE_BYTES)
    with pytest.raises(InputError, match="not an NCCI PTP edit table"):
        read_source(path, READER, KEY)


def test_sniffers_tell_ptp_from_mue() -> None:
    ptp = raw(ptp_bytes())
    assert sniff_ptp(ptp)
    assert not sniff(ptp)
    assert not sniff_ptp(raw(MUE_BYTES))
    assert not sniff_ptp(raw(b"Column 1,Column 2\r\n0001A,0591T\r\n"))


def test_non_ascii_text_is_decoded() -> None:
    """CMS's tables are ASCII; a Windows-1252 rationale is still read, not garbled."""
    record = "0001T\t36000\t\t20021001\t20041231\t1\tStandards of médical practice"
    frame = read(ptp_bytes([*RECORDS, record]).replace(b"m\xc3\xa9d", b"m\xe9d"))
    assert frame["rationale"][-1] == "Standards of médical practice"
    assert frame[LINE][-1] == FIRST + len(RECORDS)
