"""One cycle, fully analysed: the change set, the publisher's own account, and the clinic's view.

This is what a cycle report renders: the diff (`ChangeSet`), its verification
against the publisher's change marks where the kind has them, the fee schedule's
payment table and the clinic's ranked items when a watchlist is given, and the
items of other code sets that took effect in the same period.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.codesets import kind_of, kinds
from pipeline.codesets.hcpcs.reconcile import Reconciliation
from pipeline.codesets.kind import Kind
from pipeline.codesets.pfs.payment import PaymentTable
from pipeline.diff.changeset import ChangeSet
from pipeline.diff.engine import diff_snapshots
from pipeline.impact.items import Impact, Item
from pipeline.impact.rules import Finder, Replacement
from pipeline.impact.severity import RANK, SeverityRules
from pipeline.impact.watchlist import EMPTY, Watchlist
from pipeline.spec import CodeSetSpec
from pipeline.store.snapshots import Snapshot


@dataclass(frozen=True)
class Analysis:
    changes: ChangeSet
    verification: Reconciliation | None = None
    payment: PaymentTable | None = None
    impact: Impact = field(default_factory=Impact)
    #: Items of other code sets whose new editions took effect within this cycle.
    companions: tuple[Item, ...] = ()
    watched: frozenset[str] = frozenset()
    #: The code set's kind (`pipeline.codesets`), whose vocabulary the report explains with.
    kind: str = "generic"

    @property
    def action_items(self) -> list[Item]:
        """Critical then warning items, this code set's and its companions'."""
        items = [i for i in (*self.impact.items, *self.companions) if i.severity != "info"]
        return sorted(items, key=lambda i: (RANK[i.severity], i.codeset != self.changes.codeset))

    @property
    def action_counts(self) -> dict[str, int]:
        """Critical and warning items as Action required lists them (companions included):
        the one count the index, the report and `--fail-on` agree on."""
        return {s: sum(i.severity == s for i in self.action_items) for s in ("critical", "warning")}

    def to_dict(self, records: bool = True) -> dict[str, Any]:
        """The JSON report's data (see `ChangeSet.to_dict` for `records`)."""
        data = self.changes.to_dict(records)
        if self.verification is not None:
            data["verification"] = self.verification.to_dict()
        if self.payment is not None:
            data["payment"] = self.payment.to_dict()
        data["impact"] = {
            **self.impact.to_dict(),
            "other_code_sets": [i.to_dict() for i in self.companions],
            "action_required": self.action_counts,
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
    kind = kind_of(spec)
    cs = diff_snapshots(old, new, spec)
    payment = kind.payment(old, new, watchlist) if watchlist else None
    return Analysis(
        changes=cs,
        verification=kind.verify(cs, old, new),
        payment=payment,
        impact=assess(cs, watchlist, kind, rules, payment, replacement),
        watched=frozenset(watchlist.watched_codes()),
        kind=kind.name,
    )


def assess(
    cs: ChangeSet,
    watchlist: Watchlist,
    kind: Kind | None = None,
    rules: SeverityRules | None = None,
    payment: PaymentTable | None = None,
    replacement: Replacement | None = None,
) -> Impact:
    """Rank one cycle's changes for the clinic: the rules every code set shares, and the
    kind's own (NCCI pairs, MUE limits, fee-schedule payment)."""
    if not watchlist:
        return Impact()
    finder = Finder(cs, watchlist, rules or SeverityRules(), replacement or _no_replacement)
    (kind or kinds()["generic"]).assess(finder, payment)
    return finder.impact()


def _no_replacement(code: str) -> str | None:
    return None


def in_period(this: Analysis, other: Analysis) -> bool:
    """Whether `other` is another code set's cycle whose new edition took effect within
    `this` cycle's period (after its old edition, up to and including its new one)."""
    start, end = this.changes.old.effective_date, this.changes.new.effective_date
    return (
        other.changes.codeset != this.changes.codeset
        and start < other.changes.new.effective_date <= end
    )


def with_companions(this: Analysis, others: Sequence[Analysis]) -> Analysis:
    """`this`, with the items of the cycles among `others` that took effect in its period."""
    companions = tuple(item for o in others if in_period(this, o) for item in o.impact.items)
    return dataclasses.replace(this, companions=companions)
