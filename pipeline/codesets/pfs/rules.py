"""The fee schedule's rules for the clinic: a watched code Medicare stops paying, or
whose national payment moves more than the project's threshold."""

from __future__ import annotations

from pipeline.codesets.pfs.payment import PaymentTable
from pipeline.codesets.pfs.vocabulary import PAYABLE
from pipeline.impact.rules import Finder


def payment(finder: Finder, table: PaymentTable) -> None:
    threshold = finder.rules.payment_threshold
    for row in table.rows:
        if row.status_old in PAYABLE and row.status_new not in PAYABLE:
            finder.add(
                "watched-non-payable",
                row.code,
                finder.replacement(row.code),
                status_old=row.status_old,
                status_new=row.status_new,
            )
        elif row.percent is not None and abs(row.percent) > threshold:
            finder.add(
                "watched-payment",
                row.code,
                payment_old=row.payment_old,
                payment_new=row.payment_new,
                percent=row.percent,
                annual_impact=row.annual_impact,
            )
