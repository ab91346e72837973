"""The PPRRVU readers (CSV and fixed width), on the bundled PT/OT subsets of six CMS editions.

The bundled files keep CMS's layout with the CPT descriptors blanked; rows these tests add
carry invented placeholder text in the descriptor column.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from pipeline.codesets.pfs.pprrvu import COLUMNS, KEY, STATUS_CODES, WIDTH, sniff_csv, sniff_txt
from pipeline.codesets.reading import read_source, reader_function
from pipeline.errors import InputError
from pipeline.sources.base import open_source
from pipeline.sources.coerce import LINE, check_unique
from pipeline.spec import ReaderSpec
from pipeline.store.snapshots import content_digest
from tests.conftest import REPO

BUNDLED = REPO / "sources" / "pfs-rvu"
CSV = {
    "RVU23A": "RVU23A-PPRRVU23_JAN-ptot.csv",
    "RVU23D": "RVU23D-PPRRVU23_OCT-ptot.csv",
    "RVU24B": "RVU24B-PPRRVU24_APR-ptot.csv",
    "RVU24C": "RVU24C-PPRRVU24_JUL-ptot.csv",
    "RVU25A": "RVU25A-PPRRVU25_JAN-ptot.csv",
    "RVU25D": "RVU25D-PPRRVU2025_Oct-ptot.csv",
}
TXT = {"RVU24B": "RVU24B-PPRRVU24_APR-ptot.txt", "RVU25D": "RVU25D-PPRRVU2025_Oct-ptot.txt"}
ROWS = {"RVU23A": 94, "RVU23D": 94, "RVU24B": 98, "RVU24C": 98, "RVU25A": 98, "RVU25D": 98}
PLACEHOLDER = "Placeholder text, not a descriptor"


def fmt_of(path: Path) -> str:
    return "pprrvu-txt" if path.suffix == ".txt" else "pprrvu-csv"


def read_lines(path: Path) -> pl.DataFrame:
    """What the reader returns, `_line` included, keys checked as `read_source` does."""
    raw = open_source(path)
    frame = reader_function(fmt_of(path))(raw, ReaderSpec(format=fmt_of(path)))
    check_unique(frame, KEY, raw.name)
    return frame


def read(path: Path) -> pl.DataFrame:
    return read_lines(path).drop(LINE).sort(KEY)


def edition(label: str) -> pl.DataFrame:
    return read(BUNDLED / CSV[label])


def row(frame: pl.DataFrame, code: str) -> dict[str, object]:
    return frame.filter(pl.col("hcpcs") == code, pl.col("modifier").is_null()).row(0, named=True)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("ascii"))
    return path


def source(name: str) -> str:
    return (BUNDLED / name).read_bytes().decode("ascii")


def line_of(text: str, start: str) -> int:
    """1-based line of the first line starting with `start`."""
    return next(i for i, line in enumerate(text.split("\n"), 1) if line.startswith(start))


def replace_line(text: str, start: str, change: object) -> tuple[str, int]:
    """Apply `change` (a function of the line) to the line starting with `start`."""
    lines = text.split("\n")
    number = line_of(text, start)
    lines[number - 1] = change(lines[number - 1])  # type: ignore[operator]
    return "\n".join(lines), number


@pytest.mark.parametrize("name", [*CSV.values(), *TXT.values()])
def test_every_bundled_file_reads(name: str) -> None:
    frame = read(BUNDLED / name)
    assert frame.columns == list(COLUMNS)
    assert frame.height == ROWS[name[:6]]
    assert "description" not in frame.columns
    assert frame["modifier"].null_count() == frame.height  # no PT/OT code has a modifier
    assert set(frame["status_code"]) <= set(STATUS_CODES)
    assert frame.schema["work_rvu"] == pl.Decimal(38, 2)
    assert frame.schema["conversion_factor"] == pl.Decimal(38, 4)
    assert frame.schema["global_days"] == pl.String


def test_no_descriptor_reaches_the_frame(tmp_path: Path) -> None:
    """Even when the file carries descriptor text, the frame has no trace of it."""
    text, _ = replace_line(
        source(CSV["RVU24B"]), "97140,", lambda s: s.replace(",,,", f',,"{PLACEHOLDER}",', 1)
    )
    frame = read(write(tmp_path, "PPRRVU.csv", text))
    assert frame.columns == list(COLUMNS)
    assert not any(PLACEHOLDER in str(v) for r in frame.iter_rows() for v in r)
    assert frame.equals(edition("RVU24B"))


@pytest.mark.parametrize("label", sorted(TXT))
def test_csv_and_txt_of_one_edition_give_identical_frames(label: str) -> None:
    from_csv, from_txt = read(BUNDLED / CSV[label]), read(BUNDLED / TXT[label])
    assert from_csv.schema == from_txt.schema
    assert from_csv.equals(from_txt)
    assert content_digest(from_csv) == content_digest(from_txt)


@pytest.mark.parametrize(
    ("label", "total", "factor"),
    [
        ("RVU23A", "0.81", "33.8872"),
        ("RVU23D", "0.81", "33.8872"),
        ("RVU24B", "0.81", "33.2875"),
        ("RVU24C", "0.81", "33.2875"),
        ("RVU25A", "0.84", "32.3465"),
        ("RVU25D", "0.84", "32.3465"),
    ],
)
def test_97140_totals_and_conversion_factor(label: str, total: str, factor: str) -> None:
    """Exact decimals: RVU24C -> RVU25A moves the factor 33.2875 -> 32.3465, 97140 0.81 -> 0.84."""
    manual = row(edition(label), "97140")
    assert manual["non_facility_total"] == Decimal(total)
    assert manual["facility_total"] == Decimal(total)
    assert manual["conversion_factor"] == Decimal(factor)
    assert str(manual["conversion_factor"]) == factor
    assert manual["status_code"] == "A"


@pytest.mark.parametrize("label", sorted(CSV))
def test_97014_is_not_valid_for_medicare(label: str) -> None:
    frame = edition(label)
    unattended = row(frame, "97014")
    assert unattended["status_code"] == "I"
    assert unattended["not_used_for_medicare"] == "+"
    assert STATUS_CODES["I"].startswith("Not valid for Medicare")
    assert row(frame, "G0283")["status_code"] == "A"


def test_caregiver_training_codes_appear_from_2024() -> None:
    caregiver = {"97550", "97551", "97552"}
    for label in CSV:
        present = caregiver & set(edition(label)["hcpcs"])
        assert present == (caregiver if label >= "RVU24" else set()), label


def test_indicators_keep_their_text() -> None:
    unattended = row(edition("RVU25D"), "97014")
    assert unattended["global_days"] == "XXX"
    assert unattended["physician_supervision_diagnostic"] == "09"
    assert unattended["diagnostic_imaging_family"] == "99"
    assert unattended["facility_na_indicator"] == "NA"
    assert unattended["non_facility_na_indicator"] is None
    assert unattended["endoscopic_base_code"] is None


def test_status_codes_cover_the_layout() -> None:
    assert "".join(STATUS_CODES) == "ABCDEFGHIJMNPRTX"


def test_modifiers_are_part_of_the_key(tmp_path: Path) -> None:
    """Invented 97140-TC records in both layouts: blank modifier null, TC kept, same frames."""
    csv_text = source(CSV["RVU24B"])
    record = csv_text.split("\n")[line_of(csv_text, "97140,") - 1]
    extra = record.replace("97140,,,", f'97140,TC,"{PLACEHOLDER}",', 1)
    csv_text = csv_text.replace(record, f"{record}\n{extra}", 1)
    txt_text = source(TXT["RVU24B"])
    record = txt_text.split("\n")[line_of(txt_text, "97140 ") - 1]
    extra = "97140TC" + PLACEHOLDER.ljust(50) + record[57:]
    txt_text = txt_text.replace(record, f"{record}\n{extra}", 1)
    from_csv = read(write(tmp_path, "PPRRVU.csv", csv_text))
    from_txt = read(write(tmp_path, "PPRRVU.txt", txt_text))
    assert from_csv.equals(from_txt)
    manual = from_csv.filter(pl.col("hcpcs") == "97140")
    assert manual["modifier"].to_list() == [None, "TC"]


def test_duplicate_key_is_rejected(tmp_path: Path) -> None:
    text = source(CSV["RVU24B"])
    record = text.split("\n")[line_of(text, "97140,") - 1]
    path = write(tmp_path, "PPRRVU.csv", text.replace(record, f"{record}\n{record}", 1))
    with pytest.raises(InputError, match=r"duplicate key hcpcs\+modifier: 97140/None"):
        read(path)


def test_header_is_found_when_title_lines_change(tmp_path: Path) -> None:
    csv_text = source(CSV["RVU24B"])
    longer = write(
        tmp_path, "longer.csv", ",,An invented extra title line" + "," * 28 + "\r\n" + csv_text
    )
    shorter = write(tmp_path, "shorter.csv", csv_text.split("\n", 3)[3])
    txt_text = source(TXT["RVU24B"])
    more_hdr = write(tmp_path, "longer.txt", "HDR AN INVENTED EXTRA HEADER RECORD\r\n" + txt_text)
    expected = edition("RVU24B")
    for path in (longer, shorter, more_hdr):
        assert read(path).equals(expected), path.name
    lines = read_lines(longer)
    assert lines.filter(pl.col("hcpcs") == "97140")[LINE].item() == line_of(csv_text, "97140,") + 1


def test_csv_header_must_match_the_layout(tmp_path: Path) -> None:
    text = source(CSV["RVU24B"])
    moved = write(tmp_path, "moved.csv", text.replace(",FACTOR,", ",X,"))
    with pytest.raises(InputError, match=r"line 10, column conversion_factor: header cell 25"):
        read(moved)
    gone = write(tmp_path, "gone.csv", text.replace("HCPCS,MOD,DESCRIPTION", "CODE,MOD,DESC"))
    with pytest.raises(InputError, match="no header line starting HCPCS,MOD,DESCRIPTION"):
        read(gone)


def test_ragged_row_names_its_line(tmp_path: Path) -> None:
    text, number = replace_line(source(CSV["RVU24B"]), "97140,", lambda s: s.replace(",,", ",", 1))
    with pytest.raises(InputError, match=rf"line {number}: expected 31 fields, found 30"):
        read(write(tmp_path, "PPRRVU.csv", text))


def test_bad_decimal_names_line_and_column(tmp_path: Path) -> None:
    text, number = replace_line(
        source(CSV["RVU24B"]), "97140,", lambda s: s.replace("0.43", "0.4x")
    )
    with pytest.raises(
        InputError, match=rf"line {number}, column work_rvu: '0.4x' is not a number"
    ):
        read(write(tmp_path, "PPRRVU.csv", text))
    text, number = replace_line(
        source(TXT["RVU24B"]), "97140 ", lambda s: s[:59] + "  0.4x" + s[65:]
    )
    with pytest.raises(
        InputError, match=rf"line {number}, column work_rvu: '0.4x' is not a number"
    ):
        read(write(tmp_path, "PPRRVU.txt", text))


def test_more_decimals_than_the_layout_are_rejected_not_rounded(tmp_path: Path) -> None:
    text, number = replace_line(
        source(CSV["RVU25D"]), "97140,", lambda s: s.replace("32.3465", "32.34651")
    )
    with pytest.raises(InputError, match=rf"line {number}, column conversion_factor: '32.34651'"):
        read(write(tmp_path, "PPRRVU.csv", text))


def test_blank_number_and_unknown_status_are_rejected(tmp_path: Path) -> None:
    text, number = replace_line(
        source(CSV["RVU24B"]), "97140,", lambda s: s.replace(",0.81,", ",,", 1)
    )
    with pytest.raises(
        InputError, match=rf"line {number}, column non_facility_total: empty is not"
    ):
        read(write(tmp_path, "PPRRVU.csv", text))
    text, number = replace_line(
        source(CSV["RVU24B"]), "97140,", lambda s: s.replace(",A,", ",Q,", 1)
    )
    with pytest.raises(InputError, match=rf"line {number}, column status_code: 'Q'"):
        read(write(tmp_path, "PPRRVU.csv", text))


def test_truncated_csv_is_rejected(tmp_path: Path) -> None:
    text = source(CSV["RVU25D"])  # no end-of-file mark: the last line is a record
    last = text.rstrip("\r\n").count("\n") + 1
    cut = text.rstrip("\r\n")[:-12]
    with pytest.raises(InputError, match=rf"line {last}: expected 31 fields"):
        read(write(tmp_path, "PPRRVU.csv", cut))


def test_truncated_txt_is_rejected(tmp_path: Path) -> None:
    text = source(TXT["RVU25D"])
    last = text.rstrip("\r\n").count("\n") + 1
    cut = text.rstrip("\r\n")[:-20]
    with pytest.raises(InputError, match=rf"line {last}: record is {WIDTH - 20} characters"):
        read(write(tmp_path, "PPRRVU.txt", cut))


def test_misaligned_txt_record_is_rejected(tmp_path: Path) -> None:
    """A record shifted one column right (same length) shows in the blank between fields."""
    text, number = replace_line(
        source(TXT["RVU24B"]), "97140 ", lambda s: s[:7] + " " + s[7 : WIDTH - 1] + s[WIDTH:]
    )
    with pytest.raises(InputError, match=rf"line {number}, column 66: expected blanks"):
        read(write(tmp_path, "PPRRVU.txt", text))


def test_blank_line_among_records_is_rejected(tmp_path: Path) -> None:
    text, number = replace_line(source(CSV["RVU24B"]), "97140,", lambda s: "\r" + "\n" + s)
    with pytest.raises(InputError, match=rf"line {number}: blank line among the records"):
        read(write(tmp_path, "PPRRVU.csv", text))


def test_header_without_records_is_rejected(tmp_path: Path) -> None:
    text = source(CSV["RVU24B"])
    head = "\n".join(text.split("\n")[: line_of(text, "HCPCS,MOD,DESCRIPTION")]) + "\n"
    with pytest.raises(InputError, match="no data records after the header"):
        read(write(tmp_path, "PPRRVU.csv", head))


@pytest.mark.parametrize(
    "name", [CSV["RVU24B"], CSV["RVU23D"], TXT["RVU24B"], TXT["RVU25D"]], ids=str
)
def test_lf_and_crlf_give_the_same_frame(tmp_path: Path, name: str) -> None:
    text = source(name)
    lf = text.replace("\r\n", "\n")
    crlf = lf.replace("\n", "\r\n")
    assert (lf != text) or (crlf != text)
    suffix = Path(name).suffix
    from_lf = read_lines(write(tmp_path, "lf" + suffix, lf))
    from_crlf = read_lines(write(tmp_path, "crlf" + suffix, crlf))
    assert from_lf.equals(from_crlf)
    assert from_lf.drop(LINE).sort(KEY).equals(read(BUNDLED / name))


def test_sniffers_tell_the_layouts_apart() -> None:
    for name in CSV.values():
        raw = open_source(BUNDLED / name)
        assert sniff_csv(raw) and not sniff_txt(raw), name
    for name in TXT.values():
        raw = open_source(BUNDLED / name)
        assert sniff_txt(raw) and not sniff_csv(raw), name


def test_read_source_uses_the_registered_readers() -> None:
    """Through the pipeline's entry point (the PT/OT rows have no modifier)."""
    data = read_source(BUNDLED / TXT["RVU25D"], ReaderSpec(format="pprrvu-txt"), ["hcpcs"])
    assert data.reader == "pprrvu-txt"
    assert data.frame.equals(edition("RVU25D"))
