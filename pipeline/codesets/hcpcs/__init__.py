"""HCPCS Level II (CMS): the annual and quarterly Alpha-Numeric files.

A discontinued code stays in the file for years with its termination date (deleted
means terminated, not absent), and every record carries CMS's action code: each
cycle is verified against it (`reconcile.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pipeline.codesets.hcpcs.feed import FEED
from pipeline.codesets.kind import Format, Kind
from pipeline.spec import CodeSetSpec, ReaderSpec

if TYPE_CHECKING:
    from pipeline.codesets.hcpcs.reconcile import Reconciliation
    from pipeline.diff.changeset import ChangeSet
    from pipeline.store.snapshots import Snapshot


@dataclass(frozen=True)
class Hcpcs(Kind):
    name: ClassVar[str] = "hcpcs"

    def verify(self, cs: ChangeSet, old: Snapshot, new: Snapshot) -> Reconciliation | None:
        from pipeline.codesets.hcpcs.reconcile import reconcile

        needed = {"code", "action_code", "action_effective_date", "add_date"}
        if cs.key != ("code",) or not needed <= {n for n, _ in new.manifest.columns}:
            return None
        return reconcile(
            cs,
            new.frame(["code", "action_code", "action_effective_date", "add_date"]),
            old.frame(["code", "action_effective_date"]),
            columns=[n for n, _ in new.manifest.columns],
        )


KIND = Hcpcs(
    feed=FEED,
    spec=CodeSetSpec(
        id="hcpcs",
        kind="hcpcs",
        title="HCPCS Level II",
        publisher="Centers for Medicare & Medicaid Services (CMS)",
        key=("code",),
        reader=ReaderSpec(format="auto"),
        formats=("hcpcs-anweb", "hcpcs-xlsx", "hcpcs-anweb-csv"),
        descriptors=("long_description", "short_description"),
        # The action code and its date describe the edition's maintenance, not the code.
        ignore=("action_code", "action_effective_date"),
        termination="termination_date",
    ),
    formats=(
        Format(
            "hcpcs-anweb",
            "pipeline.codesets.hcpcs.anweb:read",
            "pipeline.codesets.hcpcs.anweb:sniff",
        ),
        Format(
            "hcpcs-xlsx", "pipeline.codesets.hcpcs.xlsx:read", "pipeline.codesets.hcpcs.xlsx:sniff"
        ),
        Format(
            "hcpcs-anweb-csv",
            "pipeline.codesets.hcpcs.anweb_csv:read",
            "pipeline.codesets.hcpcs.anweb_csv:sniff",
        ),
    ),
)
