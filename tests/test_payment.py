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
    33.2875 -> 32.3465: $26.96 -> $27.17 a unit; at 3,100 units a year, +$651.00."""
    old = bundled.store.get("pfs-rvu", "RVU24C").frame()
    new = bundled.store.get("pfs-rvu", "RVU25A").frame()
    table = payment_table(old, new, parse_watchlist("code,label,annual_units\n97140,Manual,3100\n"))
    (row,) = table.rows
    assert (row.rvu_old, row.rvu_new) == (D("0.81"), D("0.84"))
    assert (row.payment_old, row.payment_new, row.delta) == (D("26.96"), D("27.17"), D("0.21"))
    assert row.percent == D("0.0078")
    assert row.annual_impact == D("651.00") == table.annual_total
    assert (table.factor_old, table.factor_new) == (D("33.2875"), D("32.3465"))


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
