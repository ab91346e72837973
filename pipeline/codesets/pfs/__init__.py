"""The Medicare Physician Fee Schedule relative value file (PPRRVU, CMS).

Keyed by code and modifier; statuses say whether Medicare pays (`vocabulary.py`);
national payment = total RVU x conversion factor (`payment.py`). The CPT descriptor
column is never stored: CPT descriptors are the AMA's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from pipeline.codesets.kind import Format, Kind
from pipeline.codesets.pfs.feed import FEED
from pipeline.codesets.pfs.vocabulary import DELETED, NOT_PAID, STATUS_CODES
from pipeline.spec import CodeSetSpec, ReaderSpec

if TYPE_CHECKING:
    from pipeline.codesets.pfs.payment import PaymentTable
    from pipeline.impact.rules import Finder
    from pipeline.impact.watchlist import Watchlist
    from pipeline.store.snapshots import Snapshot

#: CMS's releases A-D are the quarters.
_QUARTER_MONTH = {"A": 1, "B": 4, "C": 7, "D": 10}


@dataclass(frozen=True)
class FeeSchedule(Kind):
    name: ClassVar[str] = "pfs"

    def catalogue_columns(self, spec: CodeSetSpec) -> dict[str, str] | None:
        return {"code": spec.key[0], "modifier": spec.key[1], "status": "status_code"}

    def infer_effective(self, version: str, source_name: str = "") -> date | None:
        if match := re.fullmatch(r"RVU(\d{2})([A-D])", version.upper()):
            return date(2000 + int(match[1]), _QUARTER_MONTH[match[2]], 1)
        return super().infer_effective(version, source_name)

    def payment(self, old: Snapshot, new: Snapshot, watchlist: Watchlist) -> PaymentTable | None:
        from pipeline.codesets.pfs.payment import COLUMNS, REQUIRED, payment_table

        names = {n for n, _ in new.manifest.columns} & {n for n, _ in old.manifest.columns}
        if not watchlist or not set(REQUIRED) <= names:
            return None
        wanted = [c for c in COLUMNS if c in names]
        return payment_table(old.frame(wanted), new.frame(wanted), watchlist)

    def unit_payment(self, record: Mapping[str, Any]) -> tuple[Decimal, Decimal] | None:
        from pipeline.codesets.pfs.payment import REQUIRED, amounts

        if not set(REQUIRED) - {"hcpcs", "modifier"} <= record.keys():
            return None
        paid = amounts(dict(record))
        return None if paid is None else (paid.non_facility, paid.facility)

    def assess(self, finder: Finder, payment: PaymentTable | None) -> None:
        from pipeline.codesets.pfs.rules import payment as payment_rules

        finder.codes()
        if payment is not None:
            payment_rules(finder, payment)


KIND = FeeSchedule(
    feed=FEED,
    spec=CodeSetSpec(
        id="pfs-rvu",
        kind="pfs",
        title="Medicare Physician Fee Schedule relative values (PPRRVU)",
        publisher="Centers for Medicare & Medicaid Services (CMS)",
        key=("hcpcs", "modifier"),
        reader=ReaderSpec(format="auto"),
        formats=("pprrvu-csv", "pprrvu-txt"),
        display=("status_code", "work_rvu", "non_facility_total", "facility_total"),
    ),
    formats=(
        Format(
            "pprrvu-csv",
            "pipeline.codesets.pfs.pprrvu:read_csv",
            "pipeline.codesets.pfs.pprrvu:sniff_csv",
        ),
        Format(
            "pprrvu-txt",
            "pipeline.codesets.pfs.pprrvu:read_txt",
            "pipeline.codesets.pfs.pprrvu:sniff_txt",
        ),
    ),
    statuses=STATUS_CODES,
    not_paid=NOT_PAID,
    deleted=DELETED,
)
