"""NCCI procedure-to-procedure edits (CMS): pairs of codes not paid together on one day
unless a modifier allowed by the edit's indicator says the services were distinct."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pipeline.codesets.kind import Format, Kind
from pipeline.codesets.ncci.feed import FEED
from pipeline.spec import CodeSetSpec, ReaderSpec

if TYPE_CHECKING:
    from pipeline.codesets.pfs.payment import PaymentTable
    from pipeline.impact.rules import Finder


@dataclass(frozen=True)
class Ncci(Kind):
    name: ClassVar[str] = "ncci"

    def assess(self, finder: Finder, payment: PaymentTable | None) -> None:
        from pipeline.codesets.ncci.rules import pairs

        pairs(finder)


KIND = Ncci(
    feed=FEED,
    spec=CodeSetSpec(
        id="ncci-ptp",
        kind="ncci",
        title="NCCI procedure-to-procedure edits",
        publisher="Centers for Medicare & Medicaid Services (CMS)",
        key=("column1", "column2"),
        reader=ReaderSpec(format="auto"),
        formats=("ncci-ptp",),
        termination="deletion_date",
        display=("effective_date", "modifier_indicator", "rationale"),
    ),
    formats=(
        Format(
            "ncci-ptp",
            "pipeline.codesets.ncci.ptp:read_ptp",
            "pipeline.codesets.ncci.ptp:sniff_ptp",
            checked=("column1", "column2", "modifier_indicator"),
        ),
    ),
    paired=True,
)
