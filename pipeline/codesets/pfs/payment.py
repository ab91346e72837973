"""What a fee-schedule change costs the clinic: national payment before and after.

National payment = total RVU x conversion factor, for the non-facility setting
(a private practice) and the facility setting, rounded to the cent as CMS
rounds. All amounts are exact decimals: no float ever touches money.

Two national adjustments apply to outpatient therapy, and both are computed here:

- **Therapy multiple procedure payment reduction (MPPR).** For codes whose
  multiple-procedure indicator is 5 ("always therapy"), Medicare pays the first
  unit of the day in full and 50% of the practice-expense part of every second
  and later unit: (work RVU + 0.5 x practice-expense RVU + malpractice RVU) x
  conversion factor.
- **Assistant rate (CQ/CO).** A therapy service furnished in whole or in part by a
  physical therapist assistant (CQ) or an occupational therapy assistant (CO) is
  paid 85% of the amount otherwise paid (from 2022), after the MPPR.

The annual impact uses the average paid per unit given the share of units that
are second or later units in a visit and the share billed by assistants. The
watchlist's optional columns `later_share` and `assistant_share` give them per
code; otherwise the documented defaults apply: `DEFAULT_LATER_SHARE` (a visit of
four timed units: one paid in full, three reduced) and `DEFAULT_ASSISTANT_SHARE`
(no assistant). Locality adjustments (GPCI), sequestration and beneficiary
cost-sharing are not applied: the figures are national Medicare allowed amounts.
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
    "work_rvu",
    "non_facility_pe_rvu",
    "facility_pe_rvu",
    "mp_rvu",
    "non_facility_total",
    "facility_total",
    "multiple_procedure",
    "conversion_factor",
)
#: The columns without which there is no payment at all (the rest refine it).
REQUIRED = (
    "hcpcs",
    "modifier",
    "status_code",
    "non_facility_total",
    "facility_total",
    "conversion_factor",
)
#: Multiple-procedure indicator of the "always therapy" codes the therapy MPPR applies to.
THERAPY_MPPR = "5"
#: Share of the practice-expense RVU paid for a second or later unit under the MPPR.
MPPR_PE_PAID = Decimal("0.5")
#: Share of the amount paid when an assistant furnishes the service (CQ/CO modifier).
ASSISTANT_PAID = Decimal("0.85")
#: Defaults when the watchlist does not say: 3 of 4 units reduced, no assistant.
DEFAULT_LATER_SHARE = Decimal("0.75")
DEFAULT_ASSISTANT_SHARE = Decimal("0")


def national_payment(total_rvu: Decimal | None, factor: Decimal | None) -> Decimal | None:
    if total_rvu is None or factor is None:
        return None
    return (total_rvu * factor).quantize(CENT, rounding=ROUND_HALF_UP)


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Amounts:
    """One code's national amounts a unit in one edition (None where Medicare pays nothing)."""

    non_facility: Decimal
    facility: Decimal
    #: A second or later unit of the day, non-facility, under the therapy MPPR.
    later_unit: Decimal
    #: A first unit furnished by an assistant (CQ/CO), non-facility.
    assistant: Decimal
    #: A second or later unit furnished by an assistant.
    assistant_later: Decimal
    #: Whether the therapy MPPR applies to the code (multiple-procedure indicator 5).
    mppr: bool

    def average(self, later_share: Decimal, assistant_share: Decimal) -> Decimal:
        """Average paid per unit (non-facility), to the cent, for the given shares."""
        first, later = 1 - later_share, later_share
        own, helped = 1 - assistant_share, assistant_share
        return _cents(
            first * own * self.non_facility
            + later * own * self.later_unit
            + first * helped * self.assistant
            + later * helped * self.assistant_later
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "non_facility": str(self.non_facility),
            "facility": str(self.facility),
            "later_unit": str(self.later_unit),
            "assistant": str(self.assistant),
            "assistant_later": str(self.assistant_later),
            "therapy_mppr": self.mppr,
        }


def amounts(row: dict[str, Any] | None) -> Amounts | None:
    """A fee-schedule record's amounts, or None when the status says Medicare does not pay."""
    if row is None or row["status_code"] not in PAYABLE:
        return None
    factor = row["conversion_factor"]
    full = national_payment(row["non_facility_total"], factor)
    facility = national_payment(row["facility_total"], factor)
    if full is None or facility is None:
        return None
    mppr = row.get("multiple_procedure") == THERAPY_MPPR
    later = full
    parts = (row.get("work_rvu"), row.get("non_facility_pe_rvu"), row.get("mp_rvu"))
    if mppr and None not in parts:
        rvu = row["work_rvu"] + MPPR_PE_PAID * row["non_facility_pe_rvu"] + row["mp_rvu"]
        later = _cents(rvu * factor)
    return Amounts(
        non_facility=full,
        facility=facility,
        later_unit=later,
        assistant=_cents(full * ASSISTANT_PAID),
        assistant_later=_cents(later * ASSISTANT_PAID),
        mppr=mppr,
    )


@dataclass(frozen=True)
class PaymentRow:
    """One watched code's payment in two editions."""

    code: str
    label: str
    status_old: str | None
    status_new: str | None
    rvu_old: Decimal | None
    rvu_new: Decimal | None
    old: Amounts | None
    new: Amounts | None
    annual_units: Decimal | None
    #: Share of the units that are second or later units of a visit, and billed by
    #: assistants; `shares_given` says whether the watchlist gave them (else the defaults).
    later_share: Decimal = DEFAULT_LATER_SHARE
    assistant_share: Decimal = DEFAULT_ASSISTANT_SHARE
    shares_given: bool = False

    @property
    def payment_old(self) -> Decimal | None:
        return None if self.old is None else self.old.non_facility

    @property
    def payment_new(self) -> Decimal | None:
        return None if self.new is None else self.new.non_facility

    @property
    def facility_old(self) -> Decimal | None:
        return None if self.old is None else self.old.facility

    @property
    def facility_new(self) -> Decimal | None:
        return None if self.new is None else self.new.facility

    @property
    def delta(self) -> Decimal | None:
        if self.payment_old is None or self.payment_new is None:
            return None
        return self.payment_new - self.payment_old

    @property
    def percent(self) -> Decimal | None:
        """Change of the full unit as a fraction of the old payment (0.0355 = +3.55%)."""
        if self.delta is None or not self.payment_old:
            return None
        return (self.delta / self.payment_old).quantize(Decimal("0.0001"), ROUND_HALF_UP)

    @property
    def mppr(self) -> bool:
        return any(a is not None and a.mppr for a in (self.old, self.new))

    def _average(self, side: Amounts | None) -> Decimal | None:
        if side is None:
            return None
        later = self.later_share if side.mppr else Decimal(0)
        return side.average(later, self.assistant_share)

    @property
    def average_old(self) -> Decimal | None:
        """Average paid a unit, old edition, after the MPPR and the assistant rate."""
        return self._average(self.old)

    @property
    def average_new(self) -> Decimal | None:
        return self._average(self.new)

    @property
    def annual_impact(self) -> Decimal | None:
        """(Average a unit after - before) x annual units: what the change costs a year."""
        before, after = self.average_old, self.average_new
        if before is None or after is None or self.annual_units is None:
            return None
        return _cents((after - before) * self.annual_units)

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
            "amounts": {
                "old": None if self.old is None else self.old.to_dict(),
                "new": None if self.new is None else self.new.to_dict(),
            },
            "later_share": str(self.later_share),
            "assistant_share": str(self.assistant_share),
            "shares_from_watchlist": self.shares_given,
            "average_per_unit": {"old": s(self.average_old), "new": s(self.average_new)},
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

    @property
    def defaults_used(self) -> bool:
        """Whether any row's MPPR or assistant figures rest on the documented defaults."""
        return any(r.mppr and not r.shares_given for r in self.rows)

    def row(self, code: str) -> PaymentRow | None:
        return next((r for r in self.rows if r.code == code), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "conversion_factor": {
                "old": None if self.factor_old is None else str(self.factor_old),
                "new": None if self.factor_new is None else str(self.factor_new),
            },
            "adjustments": {
                "applied": ["therapy MPPR", "assistant rate (CQ/CO)"],
                "not_applied": ["locality (GPCI)", "sequestration", "beneficiary cost-sharing"],
                "mppr_practice_expense_paid": str(MPPR_PE_PAID),
                "assistant_paid": str(ASSISTANT_PAID),
                "default_later_share": str(DEFAULT_LATER_SHARE),
                "default_assistant_share": str(DEFAULT_ASSISTANT_SHARE),
            },
            "rows": [r.to_dict() for r in self.rows],
            "annual_total": str(self.annual_total),
        }


def payment_table(old: pl.DataFrame, new: pl.DataFrame, watchlist: Watchlist) -> PaymentTable:
    """Payments of every watched code (without modifier) present in either edition."""
    codes = sorted(watchlist.watched_codes())

    def pick(frame: pl.DataFrame) -> dict[str, dict[str, Any]]:
        rows = frame.filter(pl.col("hcpcs").is_in(codes) & pl.col("modifier").is_null())
        present = [c for c in COLUMNS if c in rows.columns]
        return {r["hcpcs"]: r for r in rows.select(present).iter_rows(named=True)}

    before, after = pick(old), pick(new)
    rows = []
    for code in codes:
        a, b = before.get(code), after.get(code)
        if a is None and b is None:
            continue
        later, assistant = watchlist.shares(code)
        rows.append(
            PaymentRow(
                code=code,
                label=watchlist.label(code) or "",
                status_old=_get(a, "status_code"),
                status_new=_get(b, "status_code"),
                rvu_old=_get(a, "non_facility_total"),
                rvu_new=_get(b, "non_facility_total"),
                old=amounts(a),
                new=amounts(b),
                annual_units=watchlist.annual_units(code),
                later_share=DEFAULT_LATER_SHARE if later is None else later,
                assistant_share=DEFAULT_ASSISTANT_SHARE if assistant is None else assistant,
                shares_given=later is not None or assistant is not None,
            )
        )
    return PaymentTable(rows=tuple(rows), factor_old=_factor(old), factor_new=_factor(new))


def _get(row: dict[str, Any] | None, column: str) -> Any:
    return None if row is None else row.get(column)


def _factor(frame: pl.DataFrame) -> Decimal | None:
    factors = frame["conversion_factor"].drop_nulls().unique()
    return factors[0] if len(factors) == 1 else None
