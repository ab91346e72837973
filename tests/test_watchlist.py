"""Reading a clinic's watchlist: its codes, ranges, units, and errors named by line."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.errors import InputError
from pipeline.impact.watchlist import load_watchlist, parse_watchlist
from tests.conftest import REPO


def test_the_shipped_clinic_watchlist() -> None:
    """As the clinic wrote it: 97530 twice (PT and OT), 97633 (a typo), two ranges."""
    w = load_watchlist(REPO / "watchlists" / "pt-ot-clinic.csv")
    assert [e.label for e in w.watched("97530")] == [
        "Therapeutic activities",
        "Therapeutic activity (one-on-one patient contact)",
    ]
    assert w.annual_units("97530") == Decimal(5500)  # PT 3,100 + OT 2,400
    assert w.units_per_day("97530") == 4
    assert w.is_watched("97633") and not w.is_watched("97533")
    assert [r.shown for r in w.ranges] == ["97010-97799", "G0281-G0283"]
    assert {"GP", "GO", "59", "CQ", "CO", "G0283", "G8978"} <= w.watched_codes()


def test_ranges_cover_codes_of_the_same_shape() -> None:
    w = parse_watchlist("code,label\n97010-97799,PT/OT\n")
    assert w.in_range("97550") and w.in_range("97010") and w.in_range("97799")
    assert not w.in_range("97800") and not w.in_range("9701") and not w.in_range("G0283")


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("code,label,units\n97110,Ex,1\n", "unknown column(s) 'units'", 1),
        ("code\n97110\n", "missing column(s) 'label'", 1),
        ("code,label\n97110,\n", "97110: empty label", 2),
        ("code,label\n\n,Exercise\n", "empty code", 3),
        ("code,label\n97-110,Exercise\n", "neither a code nor a range", 2),
        ("code,label\n97799-97010,Backwards\n", "runs backwards", 2),
        ("code,label,annual_units\n97110,Ex,lots\n", "'lots' is not a number", 2),
        ("code,label,units_per_day\n97110,Ex,1.5\n", "not a whole number", 2),
        ('code,label\n97110,"Ex\n', "malformed CSV", 2),
    ],
)
def test_errors_name_the_line(text: str, message: str, line: int) -> None:
    with pytest.raises(InputError, match=re.escape(message)) as info:
        parse_watchlist(text, "clinic.csv")
    assert info.value.line == line and info.value.file == "clinic.csv"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="watchlist file not found"):
        load_watchlist(tmp_path / "nope.csv")


def test_header_only_is_an_empty_watchlist() -> None:
    assert not parse_watchlist("code,label\n")
