"""The rules every code set shares: a cycle's changes seen through the clinic's watchlist.

A diff of 7,000 codes is noise to a clinic that bills thirty. The change set is cut
down to the clinic's rows with polars first; each rule then raises an `Item` holding
the facts it rests on. Rules that depend on a publisher (NCCI pairs, MUE limits,
fee-schedule payment) live with their kind in `pipeline/codesets/<kind>/rules.py` and
add their items through the same `Finder`. Severities are data
(`pipeline.impact.severity.RULES`), overridable in `codesets.toml` under `[severity]`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from pipeline.diff.changeset import ChangeSet
from pipeline.impact.items import Impact, Item
from pipeline.impact.severity import RANK, SeverityRules
from pipeline.impact.watchlist import Watchlist

#: code -> what to do instead, in the reviewed crosswalk's words, or None.
Replacement = Callable[[str], str | None]


@dataclass
class Finder:
    """Collects one cycle's items; each (rule, code) is raised once."""

    cs: ChangeSet
    watchlist: Watchlist
    rules: SeverityRules
    replacement: Replacement
    items: list[Item] = field(default_factory=list)
    seen: set[tuple[str, str]] = field(default_factory=set)

    def add(self, rule: str, code: str, advice: str | None = None, **facts: Any) -> None:
        if (rule, code) in self.seen:
            return
        self.seen.add((rule, code))
        self.items.append(
            Item(
                severity=self.rules.severity(rule),
                rule=rule,
                codeset=self.cs.codeset,
                old_version=self.cs.old.version,
                new_version=self.cs.new.version,
                code=code,
                label=self.watchlist.label(code),
                facts=facts,
                advice=advice,
                kind=self.cs.kind,
                title=self.cs.title,
            )
        )

    def code_of(self, record: Mapping[str, Any]) -> str:
        return str(record[self.cs.key[0]])

    def rows(self, kind: str, column: str | None = None) -> list[dict[str, Any]]:
        """The records of one kind whose `column` (default: the first key column) is a
        watched code or in a watched range, as dicts with their field changes."""
        frame: pl.DataFrame = getattr(self.cs, kind)
        if not frame.height:
            return []
        return self.cs.records_of(
            frame.filter(self.watchlist.matches(pl.col(column or self.cs.key[0])))
        )

    def codes(self) -> None:
        """Changes to watched codes themselves, and new codes in watched ranges."""
        end = self.cs.termination
        for record in self.rows("deleted"):
            code = self.code_of(record)
            if self.watchlist.is_watched(code):
                ended = record.get(end) if end else None
                self.add("watched-deleted", code, self.replacement(code), terminated=ended)
        for kind in ("added", "reactivated"):
            for record in self.rows(kind):
                code = self.code_of(record)
                if self.watchlist.is_watched(code):
                    self.add("watched-added", code, how=kind)
                elif ranges := self.watchlist.in_range(code):
                    column = next((c for c in self.cs.display if record.get(c)), None)
                    shown = record[column] if column else None
                    self.add("range-added", code, range=ranges[0].shown, shown=shown, field=column)
        uniform = {(u.name, u.old, u.new) for u in self.cs.uniform}
        for record in self.rows("changed"):
            code = self.code_of(record)
            if not self.watchlist.is_watched(code):
                continue
            changes = record.get("fields", ())
            revised = [f.name for f in changes if f.name in self.cs.descriptors]
            if revised:
                self.add("watched-descriptor", code, fields=revised)
            others = [
                {"field": f.name, "old": f.old, "new": f.new}
                for f in changes
                if f.name not in self.cs.descriptors and (f.name, f.old, f.new) not in uniform
            ]
            if others:
                self.add("watched-changed", code, changes=others)

    def impact(self) -> Impact:
        return Impact(tuple(sorted(self.items, key=lambda i: (RANK[i.severity], i.code, i.rule))))
