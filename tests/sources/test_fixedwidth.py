"""The fixed-width reader, on an extract shaped like the ICD-10-CM order file."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.codesets.reading import read_source
from pipeline.errors import ConfigError, InputError
from pipeline.sources.base import RawSource
from pipeline.sources.fixedwidth import read
from tests.sources.conftest import spec

Source = Callable[..., RawSource]

#: The order file's layout, as CMS documents it (1-based, inclusive).
ORDER_FIELDS = [
    {"name": "order", "start": 1, "end": 5},
    {"name": "code", "start": 7, "end": 13},
    {"name": "billable", "start": 15, "end": 15},
    {"name": "short", "start": 17, "end": 76},
    {"name": "long", "start": 78},
]

#: (order, code, billable, short title, long title): real ICD-10-CM codes and titles;
#: the order numbers are illustrative.
ENTRIES = [
    (1, "I10", "1", "Essential (primary) hypertension", "Essential (primary) hypertension"),
    (2, "M545", "0", "Low back pain", "Low back pain"),
    (3, "M5450", "1", "Low back pain, unspecified", "Low back pain, unspecified"),
    (4, "M5451", "1", "Vertebrogenic low back pain", "Vertebrogenic low back pain"),
    (5, "M5459", "1", "Other low back pain", "Other low back pain"),
    (
        6,
        "E119",
        "1",
        "Type 2 diabetes mellitus without complications",
        "Type 2 diabetes mellitus without complications",
    ),
]


def order_line(order: int, code: str, billable: str, short: str, long: str) -> str:
    return f"{order:05d} {code:<7} {billable} {short:<60} {long}"


def order_file(entries: list[tuple[int, str, str, str, str]], end: str = "\r\n") -> str:
    return "".join(order_line(*entry) + end for entry in entries)


def test_order_file(source: Source) -> None:
    frame = read(source(order_file(ENTRIES)), spec("fixed-width", fields=ORDER_FIELDS))
    assert frame.columns == ["order", "code", "billable", "short", "long", "_line"]
    third = frame.row(2, named=True)
    assert third == {
        "order": "00003",
        "code": "M5450  ",  # raw: the dispatcher trims
        "billable": "1",
        "short": "Low back pain, unspecified".ljust(60),
        "long": "Low back pain, unspecified",
        "_line": 3,
    }
    assert frame["_line"].to_list() == [1, 2, 3, 4, 5, 6]


def test_blank_and_skipped_lines_keep_line_numbers(source: Source) -> None:
    text = "ICD-10-CM order file (illustrative extract)\n\n" + order_file(ENTRIES[:2], "\n")
    text = text.replace("\n00002", "\n\n   \n00002")
    fields = ORDER_FIELDS
    frame = read(source(text), spec("fixed-width", fields=fields, skip_lines=1))
    assert frame.select("code", "_line").rows() == [("I10    ", 3), ("M545   ", 6)]


def test_short_lines_read_as_empty_fields(source: Source) -> None:
    frame = read(source("00001 I10     1\n"), spec("fixed-width", fields=ORDER_FIELDS))
    assert frame.row(0) == ("00001", "I10    ", "1", "", "", 1)


def test_text_past_the_last_field(source: Source) -> None:
    fields = ORDER_FIELDS[:3]
    data = "00001 I10     1\n00002 M545    0 Low back pain\n"
    with pytest.raises(InputError, match="text past position 15") as err:
        read(source(data, "order.txt"), spec("fixed-width", fields=fields))
    assert (err.value.line, err.value.column) == (2, 16)


def test_windows_1252_titles(source: Source) -> None:
    # CMS writes ASCII titles ("Sjogren"); the accent here is to exercise Windows-1252.
    data = b"00001 M3500     Sj\xf6gren syndrome, unspecified\r\n"
    fields = [{"name": "code", "start": 7, "end": 13}, {"name": "title", "start": 17}]
    frame = read(source(data), spec("fixed-width", fields=fields))
    assert frame["title"].to_list() == ["Sj\u00f6gren syndrome, unspecified"]


def test_binary_file(source: Source) -> None:
    with pytest.raises(InputError, match="binary data"):
        read(source(b"00001 I10\x00\x00"), spec("fixed-width", fields=ORDER_FIELDS))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (None, "must be a list"),
        ([], "must be a list"),
        ([{"name": "code", "start": 0, "end": 5}], "start must be a position >= 1"),
        ([{"name": "code", "start": 7, "end": 6}], "end must be a position >= start 7"),
        ([{"name": "code", "start": 1.5, "end": 6}], "start must be"),
        ([{"name": "code", "start": 1}, {"name": "code", "start": 7}], "two fields are named"),
        ([{"name": "", "start": 1}], "name must be a non-empty string"),
        ([{"name": "_line", "start": 1}], "name must be"),
        ([{"name": "code", "start": 1, "width": 5}], "expected a table of name"),
        (["code"], "expected a table of name"),
    ],
)
def test_bad_field_specs(source: Source, fields: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        read(source("00001 I10\n"), spec("fixed-width", fields=fields))


def test_through_the_dispatcher(write: Callable[..., Path]) -> None:
    """A fee-schedule-like file: code 1-5, RVU 6-12, effective date 13-20."""
    data = "97110   0.4520240101\n97140   0.4320240101\nG0283   0.1820240101\n"
    fields = [
        {"name": "HCPCS", "start": 1, "end": 5},
        {"name": "RVU", "start": 6, "end": 12},
        {"name": "EFF", "start": 13, "end": 20},
    ]
    options = {
        "fields": fields,
        "columns": {"HCPCS": "code", "RVU": "work_rvu", "EFF": "effective"},
        "types": {"work_rvu": "decimal", "effective": "date"},
        "date_format": "%Y%m%d",
    }
    reader = spec("fixed-width", **options)
    frame = read_source(write(data), reader, key=["code"]).frame
    assert frame.rows() == [
        ("97110", Decimal("0.45"), date(2024, 1, 1)),
        ("97140", Decimal("0.43"), date(2024, 1, 1)),
        ("G0283", Decimal("0.18"), date(2024, 1, 1)),
    ]
    with pytest.raises(InputError, match="'20240230' is not a date") as err:
        read_source(write(data.replace("0.4320240101", "0.4320240230")), reader, key=["code"])
    assert (err.value.line, err.value.column) == (2, "effective")
