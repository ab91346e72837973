"""What a fee-schedule change costs the clinic: national payment before and after.

National payment = total RVU x conversion factor, for the non-facility setting
(a private practice) and the facility setting, rounded to the cent as CMS
rounds. Times the clinic's annual units it is the annual dollar impact. All
amounts are exact decimals: no float ever touches money.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import polars as pl

from pipeline.codesets.pfs.vocabulary import PAYABLE
from pipeline.impact.watchlist import Watchlist

CENT = Decimal("0.01")
#: Fee-schedule columns the payment needs.
COLUMNS = (
    "hcpcs",
    "modifier",
    "status_code",
    "non_facility_total",
    "facility_total",
    "conversion_factor",
)


def national_payment(total_rvu: Decimal | None, factor: Decimal | None) -> Decimal | None:
    if total_rvu is None or factor is None:
        return None
    return (total_rvu * factor).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class PaymentRow:
    """One watched code's payment in two editions."""

    code: str
    label: str
    status_old: str | None
    status_new: str | None
    rvu_old: Decimal | None
    rvu_new: Decimal | None
    payment_old: Decimal | None
    payment_new: Decimal | None
    facility_old: Decimal | None
    facility_new: Decimal | None
    annual_units: Decimal | None

    @property
    def delta(self) -> Decimal | None:
        if self.payment_old is None or self.payment_new is None:
            return None
        return self.payment_new - self.payment_old

    @property
    def percent(self) -> Decimal | None:
        """Change as a fraction of the old payment (0.0355 = +3.55%)."""
        if self.delta is None or not self.payment_old:
            return None
        return (self.delta / self.payment_old).quantize(Decimal("0.0001"), ROUND_HALF_UP)

    @property
    def annual_impact(self) -> Decimal | None:
        if self.delta is None or self.annual_units is None:
            return None
        return (self.delta * self.annual_units).quantize(CENT, ROUND_HALF_UP)

    @property
    def payable(self) -> bool:
        return self.status_new in PAYABLE

    def to_dict(self) -> dict[str, Any]:
        def s(v: Decimal | None) -> str | None:
            return None if v is None else str(v)

        return {
            "code": self.code,
            "label": self.label,
            "status": {"old": self.status_old, "new": self.status_new},
            "non_facility_total_rvu": {"old": s(self.rvu_old), "new": s(self.rvu_new)},
            "non_facility_payment": {"old": s(self.payment_old), "new": s(self.payment_new)},
            "facility_payment": {"old": s(self.facility_old), "new": s(self.facility_new)},
            "delta": s(self.delta),
            "percent": s(self.percent),
            "annual_units": s(self.annual_units),
            "annual_impact": s(self.annual_impact),
        }


@dataclass(frozen=True)
class PaymentTable:
    """Watched codes' national payments in a fee-schedule cycle, with the annual total."""

    rows: tuple[PaymentRow, ...]
    factor_old: Decimal | None
    factor_new: Decimal | None

    @property
    def annual_total(self) -> Decimal:
        return sum((r.annual_impact for r in self.rows if r.annual_impact), Decimal(0))

    def row(self, code: str) -> PaymentRow | None:
        return next((r for r in self.rows if r.code == code), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "conversion_factor": {
                "old": None if self.factor_old is None else str(self.factor_old),
                "new": None if self.factor_new is None else str(self.factor_new),
            },
            "rows": [r.to_dict() for r in self.rows],
            "annual_total": str(self.annual_total),
        }


def payment_table(old: pl.DataFrame, new: pl.DataFrame, watchlist: Watchlist) -> PaymentTable:
    """Payments of every watched code (without modifier) present in either edition."""
    codes = sorted(watchlist.watched_codes())

    def pick(frame: pl.DataFrame) -> dict[str, dict[str, Any]]:
        rows = frame.filter(pl.col("hcpcs").is_in(codes) & pl.col("modifier").is_null())
        return {r["hcpcs"]: r for r in rows.select(COLUMNS).iter_rows(named=True)}

    before, after = pick(old), pick(new)
    rows = []
    for code in codes:
        a, b = before.get(code), after.get(code)
        if a is None and b is None:
            continue
        rows.append(
            PaymentRow(
                code=code,
                label=watchlist.label(code) or "",
                status_old=_get(a, "status_code"),
                status_new=_get(b, "status_code"),
                rvu_old=_get(a, "non_facility_total"),
                rvu_new=_get(b, "non_facility_total"),
                payment_old=_paid(a, "non_facility_total"),
                payment_new=_paid(b, "non_facility_total"),
                facility_old=_paid(a, "facility_total"),
                facility_new=_paid(b, "facility_total"),
                annual_units=watchlist.annual_units(code),
            )
        )
    return PaymentTable(rows=tuple(rows), factor_old=_factor(old), factor_new=_factor(new))


def _get(row: dict[str, Any] | None, column: str) -> Any:
    return None if row is None else row[column]


def _paid(row: dict[str, Any] | None, column: str) -> Decimal | None:
    if row is None or row["status_code"] not in PAYABLE:
        return None
    return national_payment(row[column], row["conversion_factor"])


def _factor(frame: pl.DataFrame) -> Decimal | None:
    factors = frame["conversion_factor"].drop_nulls().unique()
    return factors[0] if len(factors) == 1 else None
