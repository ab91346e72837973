"""Medically Unlikely Edits (CMS): the most units of a code billed per line or per day."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pipeline.codesets.kind import Format, Kind
from pipeline.codesets.mue.feed import FEED
from pipeline.spec import CodeSetSpec, ReaderSpec

if TYPE_CHECKING:
    from pipeline.codesets.pfs.payment import PaymentTable
    from pipeline.impact.rules import Finder


@dataclass(frozen=True)
class Mue(Kind):
    name: ClassVar[str] = "mue"

    def assess(self, finder: Finder, payment: PaymentTable | None) -> None:
        from pipeline.codesets.mue.rules import limits

        finder.codes()
        limits(finder)


KIND = Mue(
    feed=FEED,
    spec=CodeSetSpec(
        id="mue",
        kind="mue",
        title="Medically Unlikely Edits (MUE)",
        publisher="Centers for Medicare & Medicaid Services (CMS)",
        key=("code",),
        reader=ReaderSpec(format="auto"),
        formats=("mue",),
        display=("mue_value", "adjudication_indicator", "rationale"),
    ),
    formats=(
        Format("mue", "pipeline.codesets.mue.table:read", "pipeline.codesets.mue.table:sniff"),
    ),
)
