"""National payment = total RVU x conversion factor, exact to the cent, times annual units."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from pipeline.codesets.pfs.payment import national_payment, payment_table
from pipeline.impact.watchlist import parse_watchlist
from tests.conftest import Bundled

D = Decimal


def test_national_payment_rounds_half_up_to_the_cent() -> None:
    assert national_payment(D("0.84"), D("32.3465")) == D("27.17")  # 27.17106
    assert national_payment(D("0.81"), D("33.2875")) == D("26.96")  # 26.962875
    assert national_payment(None, D("32.3465")) is None


def test_97140_in_the_2025_january_fee_schedule(bundled: Bundled) -> None:
    """RVU24C -> RVU25A: 97140's total RVU 0.81 -> 0.84 while the conversion factor fell
    33.2875 -> 32.3465: $26.96 -> $27.17 a full unit. Its practice expense rose and its
    work did not, so a second or later unit (PE paid at 50%) falls: (0.43 + 0.5 x 0.37 +
    0.01) x 33.2875 = $20.80 -> (0.43 + 0.5 x 0.40 + 0.01) x 32.3465 = $20.70. With the
    default 75% later units: $22.34 -> $22.32 a unit, -$62.00 a year at 3,100 units."""
    old = bundled.store.get("pfs-rvu", "RVU24C").frame()
    new = bundled.store.get("pfs-rvu", "RVU25A").frame()
    table = payment_table(old, new, parse_watchlist("code,label,annual_units\n97140,Manual,3100\n"))
    (row,) = table.rows
    assert (row.rvu_old, row.rvu_new) == (D("0.81"), D("0.84"))
    assert (row.payment_old, row.payment_new, row.delta) == (D("26.96"), D("27.17"), D("0.21"))
    assert row.percent == D("0.0078")
    assert row.old is not None and row.new is not None and row.mppr
    assert (row.facility_old, row.facility_new) == (D("26.96"), D("27.17"))
    assert (row.old.later_unit, row.new.later_unit) == (D("20.80"), D("20.70"))
    assert (row.old.assistant, row.new.assistant) == (D("22.92"), D("23.09"))  # x 0.85
    assert (row.old.assistant_later, row.new.assistant_later) == (D("17.68"), D("17.60"))
    assert (row.later_share, row.assistant_share, row.shares_given) == (D("0.75"), 0, False)
    assert (row.average_old, row.average_new) == (D("22.34"), D("22.32"))
    assert row.annual_impact == D("-62.00") == table.annual_total
    assert (table.factor_old, table.factor_new) == (D("33.2875"), D("32.3465"))


def test_shares_from_the_watchlist(bundled: Bundled) -> None:
    """97530 with half its units later units and 40% billed by assistants (CQ/CO):
    the average unit mixes the four amounts; RVU25A: 0.3 x 34.61 + 0.3 x 24.58
    + 0.2 x 29.42 + 0.2 x 20.89 = $27.82."""
    old = bundled.store.get("pfs-rvu", "RVU24C").frame()
    new = bundled.store.get("pfs-rvu", "RVU25A").frame()
    text = 'code,label,annual_units,later_share,assistant_share\n97530,TA,"5,500",50%,0.4\n'
    (row,) = payment_table(old, new, parse_watchlist(text)).rows
    assert row.new is not None
    assert (row.new.non_facility, row.new.later_unit) == (D("34.61"), D("24.58"))
    assert (row.new.assistant, row.new.assistant_later) == (D("29.42"), D("20.89"))
    assert (row.later_share, row.assistant_share, row.shares_given) == (D("0.5"), D("0.4"), True)
    assert row.average_new == D("27.82")


def test_non_payable_status_has_no_payment(bundled: Bundled) -> None:
    """97014 is status I (not valid for Medicare): no national payment either side."""
    frame = bundled.store.get("pfs-rvu", "RVU25A").frame()
    (row,) = payment_table(frame, frame, parse_watchlist("code,label\n97014,E-stim\n")).rows
    assert (row.status_new, row.payment_new, row.annual_impact) == ("I", None, None)
    assert not row.payable


def test_codes_outside_the_fee_schedule_are_left_out() -> None:
    schema = {c: pl.String for c in ("hcpcs", "modifier", "status_code")} | {
        c: pl.Decimal(10, 4) for c in ("non_facility_total", "facility_total", "conversion_factor")
    }
    empty = pl.DataFrame(schema=schema)
    assert payment_table(empty, empty, parse_watchlist("code,label\nGP,PT\n")).rows == ()
