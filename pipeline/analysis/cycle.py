"""One cycle, fully analysed: the change set, the publisher's own account, and the clinic's view.

This is what a cycle report renders: the diff (`ChangeSet`), its verification
against the publisher's action codes where the format carries them, the fee
schedule's payment table and the clinic's ranked items when a watchlist is
given, and the items of other code sets that took effect in the same period.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.codesets.hcpcs.reconcile import Reconciliation, reconcile
from pipeline.codesets.pfs.payment import COLUMNS as PAYMENT_COLUMNS
from pipeline.codesets.pfs.payment import PaymentTable, payment_table
from pipeline.diff.changeset import ChangeSet
from pipeline.diff.engine import diff_snapshots
from pipeline.impact.rules import Impact, Item, Replacement, assess
from pipeline.impact.severity import RANK, SeverityRules
from pipeline.impact.watchlist import EMPTY, Watchlist
from pipeline.spec import CodeSetSpec
from pipeline.store.snapshots import Snapshot

#: Readers whose files carry CMS's HCPCS action codes, which a cycle is verified against.
ACTION_CODED = ("hcpcs-anweb", "hcpcs-xlsx")


@dataclass(frozen=True)
class Analysis:
    changes: ChangeSet
    verification: Reconciliation | None = None
    payment: PaymentTable | None = None
    impact: Impact = field(default_factory=Impact)
    #: Items of other code sets whose new editions took effect within this cycle.
    companions: tuple[Item, ...] = ()
    watched: frozenset[str] = frozenset()

    @property
    def action_items(self) -> list[Item]:
        """Critical then warning items, this code set's and its companions'."""
        items = [i for i in (*self.impact.items, *self.companions) if i.severity != "info"]
        return sorted(items, key=lambda i: (RANK[i.severity], i.codeset != self.changes.codeset))

    def to_dict(self) -> dict[str, Any]:
        data = self.changes.to_dict()
        if self.verification is not None:
            data["verification"] = self.verification.to_dict()
        if self.payment is not None:
            data["payment"] = self.payment.to_dict()
        data["impact"] = {
            **self.impact.to_dict(),
            "other_code_sets": [i.to_dict() for i in self.companions],
        }
        return data


def analyse(
    spec: CodeSetSpec,
    old: Snapshot,
    new: Snapshot,
    watchlist: Watchlist = EMPTY,
    rules: SeverityRules | None = None,
    replacement: Replacement | None = None,
) -> Analysis:
    """Diff two snapshots, verify against the publisher, and assess for the clinic."""
    cs = diff_snapshots(old, new, spec)
    verification = None
    if new.manifest.source.reader in ACTION_CODED and cs.key == ("code",):
        columns = ["code", "action_code", "action_effective_date", "add_date"]
        verification = reconcile(
            cs, new.frame(columns), old.frame(["code", "action_effective_date"])
        )
    payment = None
    names = {n for n, _ in new.manifest.columns} & {n for n, _ in old.manifest.columns}
    if watchlist and set(PAYMENT_COLUMNS) <= names:
        payment = payment_table(
            old.frame(list(PAYMENT_COLUMNS)), new.frame(list(PAYMENT_COLUMNS)), watchlist
        )
    return Analysis(
        changes=cs,
        verification=verification,
        payment=payment,
        impact=assess(cs, watchlist, rules, payment, replacement),
        watched=frozenset(watchlist.watched_codes()),
    )


def with_companions(analyses: Sequence[Analysis]) -> list[Analysis]:
    """Give each cycle the items of other code sets that took effect within its period."""
    out = []
    for this in analyses:
        start, end = this.changes.old.effective_date, this.changes.new.effective_date
        companions = tuple(
            item
            for other in analyses
            if other.changes.codeset != this.changes.codeset
            and start < other.changes.new.effective_date <= end
            for item in other.impact.items
        )
        out.append(dataclasses.replace(this, companions=companions))
    return out
