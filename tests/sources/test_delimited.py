"""The delimited reader: CMS-style CSV, tab and pipe files, and the errors a person can act on."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.codesets.reading import read_source, reader_function
from pipeline.errors import ConfigError, InputError
from pipeline.sources.base import RawSource
from pipeline.sources.delimited import Options, _read_fast, read
from tests.sources.conftest import spec

Source = Callable[..., RawSource]

#: A CMS physician-fee-schedule-like extract: a title and a copyright line, then the header.
RVU_CSV = (
    '"CY 2024 Physician Fee Schedule, Relative Value File"\r\n'
    '"CPT codes and descriptions only are copyright 2023 American Medical Association."\r\n'
    "HCPCS,MOD,DESCRIPTION,WORK RVU,EFFECTIVE\r\n"
    '97110,,"Therapeutic exercises",0.45,20240101\r\n'
    '97140,,"Manual therapy 1/> regions",0.43,20240101\r\n'
    'G0283,,"Elec stim other than wound",0.18,20240101\r\n'
)


def rows(frame: pl.DataFrame) -> list[tuple[object, ...]]:
    return frame.rows()


def test_cms_csv_with_preamble(source: Source) -> None:
    frame = read(source(RVU_CSV, "rvu24.csv"), spec("delimited", skip_lines=2))
    assert frame.columns == ["HCPCS", "MOD", "DESCRIPTION", "WORK RVU", "EFFECTIVE", "_line"]
    assert all(frame.schema[c] == pl.String for c in frame.columns[:-1])
    assert frame.schema["_line"] == pl.Int64
    assert rows(frame) == [
        ("97110", "", "Therapeutic exercises", "0.45", "20240101", 4),
        ("97140", "", "Manual therapy 1/> regions", "0.43", "20240101", 5),
        ("G0283", "", "Elec stim other than wound", "0.18", "20240101", 6),
    ]


@pytest.mark.parametrize("delimiter", ["tab", "\t", "\\t"])
def test_tab_file_with_crlf(source: Source, delimiter: str) -> None:
    data = (
        b"HCPC\tSEQNUM\tSHORT DESCRIPTION\r\n"
        b"A4550\t0010\tSurgical trays\r\n"
        b"G0283\t0010\tElec stim other than wound\r\n"
    )
    frame = read(source(data), spec("delimited", delimiter=delimiter))
    assert rows(frame) == [
        ("A4550", "0010", "Surgical trays", 2),
        ("G0283", "0010", "Elec stim other than wound", 3),
    ]


def test_pipe_file_keeps_values_untrimmed(source: Source) -> None:
    data = "code|description|rvu\n 97110 |Therapeutic exercises |0.45\n"
    frame = read(source(data), spec("delimited", delimiter="|"))
    assert rows(frame) == [(" 97110 ", "Therapeutic exercises ", "0.45", 2)]


def test_windows_1252_file(source: Source) -> None:
    data = b"code,description\r\nG0283,Elec stim at patient\x92s home\r\n"
    frame = read(source(data), spec("delimited"))
    assert frame["description"].to_list() == ["Elec stim at patient\u2019s home"]


def test_declared_encoding_that_does_not_fit(source: Source) -> None:
    data = b"code,description\nG0283,patient\x92s home\n"
    with pytest.raises(InputError, match=r"byte 0x92 is not valid utf-8") as err:
        read(source(data), spec("delimited", encoding="utf-8"))
    assert err.value.offset == data.index(b"\x92")


def test_binary_file(source: Source) -> None:
    with pytest.raises(InputError, match="binary"):
        read(source(b"PK\x05\x06" + b"\x00" * 18, "release.csv"), spec("delimited"))


def test_quoted_commas_and_doubled_quotes(source: Source) -> None:
    data = (
        'code,description\nA6021,"Collagen dressing, 16 sq in or less"\nA4565,"Sling, 12"" strap"\n'
    )
    frame = read(source(data), spec("delimited"))
    assert frame["description"].to_list() == [
        "Collagen dressing, 16 sq in or less",
        'Sling, 12" strap',
    ]


def test_inch_marks_in_unquoted_fields_are_text(source: Source) -> None:
    data = 'code\tdescription\nA6402\tGauze, 16" x 16" pad\nA6403\tGauze pad\n'
    for quote in ['"', ""]:
        frame = read(source(data), spec("delimited", delimiter="tab", quote=quote))
        assert rows(frame) == [("A6402", 'Gauze, 16" x 16" pad', 2), ("A6403", "Gauze pad", 3)]


def test_blank_lines_are_skipped_and_lines_still_count(source: Source) -> None:
    data = "code,description\n\n97110,Therapeutic exercises\n\n   \n97140,Manual therapy\n,\n\n\n"
    frame = read(source(data), spec("delimited"))
    assert frame["code"].to_list() == ["97110", "97140"]
    assert frame["_line"].to_list() == [3, 6]


def test_last_line_without_newline(source: Source) -> None:
    frame = read(source("code,rvu\n97110,0.45\n97140,0.43"), spec("delimited"))
    assert rows(frame) == [("97110", "0.45", 2), ("97140", "0.43", 3)]


def test_header_without_data_gives_no_rows(source: Source) -> None:
    frame = read(source("code,description\r\n\r\n"), spec("delimited"))
    assert frame.columns == ["code", "description", "_line"]
    assert frame.height == 0


def test_no_header_after_preamble(source: Source) -> None:
    with pytest.raises(InputError, match="no header line") as err:
        read(source("Relative Value File\n\n\n"), spec("delimited", skip_lines=1))
    assert err.value.line == 2


def test_names_when_there_is_no_header(source: Source) -> None:
    data = "97110|Therapeutic exercises\n97140|Manual therapy 1/> regions\n"
    options = {"delimiter": "pipe", "header": False, "names": ["code", "description"]}
    frame = read(source(data), spec("delimited", **options))
    assert rows(frame)[1] == ("97140", "Manual therapy 1/> regions", 2)


def test_ragged_row_names_its_line(source: Source) -> None:
    data = (
        "HCPCS,DESCRIPTION,RVU\n"
        "97110,Therapeutic exercises,0.45\n"
        '97140,"Manual therapy, 1/> regions",0.43\n'
        "G0283,Elec stim,other than wound,0.18\n"
    )
    with pytest.raises(InputError) as err:
        read(source(data, "rvu.csv"), spec("delimited"))
    assert err.value.line == 4
    assert str(err.value) == "rvu.csv, line 4: expected 3 fields, found 4"


def test_short_row_names_its_line(source: Source) -> None:
    data = "code,description,rvu\n97110,Therapeutic exercises,0.45\n97140,Manual therapy\n"
    with pytest.raises(InputError, match="expected 3 fields, found 2") as err:
        read(source(data), spec("delimited"))
    assert err.value.line == 3


def test_line_numbers_after_a_quoted_newline(source: Source) -> None:
    good = 'code,description,rvu\n97110,"Therapeutic\nexercises",0.45\n97140,Manual therapy,0.43\n'
    frame = read(source(good), spec("delimited"))
    assert rows(frame) == [
        ("97110", "Therapeutic\nexercises", "0.45", 2),
        ("97140", "Manual therapy", "0.43", 4),
    ]
    with pytest.raises(InputError, match="expected 3 fields, found 4") as err:
        read(source(good + "G0283,Elec stim,0.18,extra\n"), spec("delimited"))
    assert err.value.line == 5


def test_unterminated_quote_at_end_of_file(source: Source) -> None:
    data = (
        "code,description,rvu\n"
        "97110,Therapeutic exercises,0.45\n"
        '97140,"Manual therapy,0.43\n'
        "G0283,Elec stim,0.18\n"
    )
    with pytest.raises(InputError, match="quoted field never closes") as err:
        read(source(data), spec("delimited"))
    assert err.value.line == 3


def test_text_after_a_closing_quote(source: Source) -> None:
    data = 'code,description,rvu\n97110,"Therapeutic" exercises,0.45\n'
    with pytest.raises(InputError, match="malformed record") as err:
        read(source(data), spec("delimited"))
    assert err.value.line == 2


def test_trailing_delimiters_make_no_column(source: Source) -> None:
    frame = read(source("code,description,\n97110,Therapeutic exercises,\n"), spec("delimited"))
    assert frame.columns == ["code", "description", "_line"]
    with pytest.raises(InputError, match="values but no header") as err:
        read(source("code,description,\n97110,Therapeutic exercises,x\n"), spec("delimited"))
    assert (err.value.line, err.value.column) == (1, "3")


def test_header_names_must_be_unique(source: Source) -> None:
    with pytest.raises(InputError, match=r"'code' is not unique \(also column 1\)") as err:
        read(source("code,description, code\n97110,x,y\n"), spec("delimited"))
    assert err.value.column == "3"


@pytest.mark.parametrize(
    "options",
    [
        {"delimiter": ";;"},
        {"delimiter": ""},
        {"quote": "''"},
        {"quote": ","},
        {"skip_lines": -1},
        {"skip_lines": True},
        {"header": "no"},
        {"header": False},
        {"header": False, "names": ["code", "code"]},
        {"names": ["code"]},
    ],
)
def test_bad_options(source: Source, options: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="delimited reader"):
        read(source("code\n97110\n"), spec("delimited", **options))


def test_fast_path_is_taken_for_ordinary_files() -> None:
    """Big files must not fall back to the csv module just for being quoted or blank-lined."""
    quoted = '"97110","Therapeutic exercises"\n\n"97140","Manual therapy, 1/> regions"\n'
    for body in [quoted, "97110\tTherapeutic exercises\n", 'A4565,"Sling, 12"" strap"\n']:
        delimiter = "\t" if "\t" in body else ","
        assert _read_fast(body, 2, 1, Options(delimiter, '"', 0, None)) is not None


printable = st.text(st.sampled_from(list('ab ,"\t|\né')), max_size=6)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    delimiter=st.sampled_from([",", "\t", "|"]),
    records=st.lists(st.tuples(st.sampled_from(["", "\n", " \n"]), printable), max_size=8),
)
def test_round_trip_with_line_numbers(
    source: Source, delimiter: str, records: list[tuple[str, str]]
) -> None:
    """Whatever csv.writer writes comes back, each record with the line it starts on."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(["code", "description"])
    expected = []
    for i, (gap, description) in enumerate(records):
        buf.write(gap)
        line = buf.getvalue().count("\n") + 1
        writer.writerow([f"C{i}", description])
        expected.append((f"C{i}", description, line))
    frame = read(source(buf.getvalue()), spec("delimited", delimiter=delimiter))
    assert rows(frame) == expected


def test_through_the_dispatcher(write: Callable[..., Path]) -> None:
    options = {
        "skip_lines": 2,
        "columns": {"HCPCS": "code", "WORK RVU": "work_rvu", "EFFECTIVE": "effective"},
        "types": {"work_rvu": "decimal", "effective": "date"},
        "date_format": "%Y%m%d",
    }
    reader = spec("delimited", **options)
    assert reader_function("delimited") is read
    data = read_source(write(RVU_CSV, "rvu24.csv"), reader, key=["code"])
    assert data.frame.columns == ["code", "work_rvu", "effective"]
    assert data.frame.rows() == [
        ("97110", Decimal("0.45"), date(2024, 1, 1)),
        ("97140", Decimal("0.43"), date(2024, 1, 1)),
        ("G0283", Decimal("0.18"), date(2024, 1, 1)),
    ]
    bad = RVU_CSV.replace("0.43,20240101", "0.43,20241301")
    with pytest.raises(InputError, match="'20241301' is not a date") as err:
        read_source(write(bad, "rvu24.csv"), reader, key=["code"])
    assert (err.value.line, err.value.column) == (5, "effective")


@pytest.mark.parametrize("encoding", ["auto", "utf-8"])
def test_byte_order_mark_is_not_part_of_the_first_header(source: Source, encoding: str) -> None:
    data = b"\xef\xbb\xbfHCPCS,DESCRIPTION\r\n97110,Therapeutic exercises\r\n"
    frame = read(source(data), spec("delimited", encoding=encoding))
    assert frame.columns == ["HCPCS", "DESCRIPTION", "_line"]
