"""What a cycle's changes mean for one clinic: items ranked critical, warning or info.

A diff of 7,000 codes is noise to a clinic that bills thirty. Each rule below
looks at the change set through the clinic's watchlist and names what to do.
The rules and their default severities are data (`pipeline.severity.RULES`),
overridable per project in `codesets.toml` under `[severity]`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pipeline.codesets.pfs.payment import PAYABLE, PaymentTable
from pipeline.diff.changeset import ChangeSet, jsonable
from pipeline.impact.severity import RANK, SEVERITIES, Severity, SeverityRules
from pipeline.impact.watchlist import Watchlist


@dataclass(frozen=True)
class Item:
    """One thing the clinic should know, in a billing lead's words."""

    severity: Severity
    rule: str
    codeset: str
    cycle: str
    code: str
    label: str | None
    message: str
    action: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: jsonable(v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class Impact:
    """A cycle's items for the clinic, most severe first."""

    items: tuple[Item, ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        return {s: sum(i.severity == s for i in self.items) for s in SEVERITIES}

    def at_least(self, severity: Severity) -> tuple[Item, ...]:
        return tuple(i for i in self.items if RANK[i.severity] <= RANK[severity])

    def to_dict(self) -> dict[str, Any]:
        return {"counts": self.counts, "items": [i.to_dict() for i in self.items]}


#: code -> what to do instead, in a sentence (the reviewed crosswalk's advice), or None.
Replacement = Callable[[str], str | None]


def assess(
    cs: ChangeSet,
    watchlist: Watchlist,
    rules: SeverityRules | None = None,
    payment: PaymentTable | None = None,
    replacement: Replacement | None = None,
) -> Impact:
    """Rank the clinic-relevant changes of one cycle."""
    if not watchlist:
        return Impact()
    rules = rules or SeverityRules()
    finder = _Finder(cs, watchlist, rules, replacement or (lambda code: None))
    if "column1" in cs.key:
        finder.ncci()
    else:
        finder.codes()
        if "mue_value" in cs.compared:
            finder.mue()
        if payment is not None:
            finder.payment(payment)
    return Impact(tuple(sorted(finder.items, key=lambda i: (RANK[i.severity], i.code, i.rule))))


@dataclass
class _Finder:
    cs: ChangeSet
    watchlist: Watchlist
    rules: SeverityRules
    replacement: Replacement
    items: list[Item] = field(default_factory=list)
    seen: set[tuple[str, str]] = field(default_factory=set)

    @property
    def cycle(self) -> str:
        return f"{self.cs.old.version} → {self.cs.new.version}"

    def add(self, rule: str, code: str, message: str, action: str | None = None) -> None:
        if (rule, code) in self.seen:
            return
        self.seen.add((rule, code))
        self.items.append(
            Item(
                severity=self.rules.severity(rule),
                rule=rule,
                codeset=self.cs.codeset,
                cycle=self.cycle,
                code=code,
                label=self.watchlist.label(code),
                message=message,
                action=action,
            )
        )

    def code_of(self, record: Mapping[str, Any]) -> str:
        return str(record[self.cs.key[0]])

    def codes(self) -> None:
        """Changes to watched codes themselves, and new codes in watched ranges."""
        end = self.cs.termination
        for record in self.cs.records("deleted"):
            code = self.code_of(record)
            if not self.watchlist.is_watched(code):
                continue
            ended = record.get(end) if end else None
            how = f"discontinued (terminated {ended})" if ended else "no longer listed"
            self.add(
                "watched-deleted",
                code,
                f"{code} is {how} in {self.cs.new.version}; claims with it will be denied.",
                self.replacement(code)
                or "Stop billing it; no successor code is known: check the publisher's notes.",
            )
        for kind in ("added", "reactivated"):
            for record in self.cs.records(kind):
                code = self.code_of(record)
                if self.watchlist.is_watched(code):
                    self.add(
                        "watched-added",
                        code,
                        f"{code} is {'new' if kind == 'added' else 'active again'} in "
                        f"{self.cs.new.version}: it is on your list.",
                        "Check when to start billing it, and update your charge master.",
                    )
                elif ranges := self.watchlist.in_range(code):
                    self.add(
                        "range-added",
                        code,
                        f"New code {code} in your watched range {ranges[0].shown}"
                        + (f": {_text(record, self.cs.display)}." if self.cs.display else "."),
                        "Decide whether your clinicians should bill it.",
                    )
        uniform = {(u.name, u.old, u.new) for u in self.cs.uniform_changes()}
        for record in self.cs.records("changed"):
            code = self.code_of(record)
            if not self.watchlist.is_watched(code):
                continue
            fields = record.get("fields", ())
            revised = [f.name for f in fields if f.name in self.cs.descriptors]
            if revised:
                self.add(
                    "watched-descriptor",
                    code,
                    f"{code}'s {', '.join(n.replace('_', ' ') for n in revised)} revised.",
                    "Re-read the descriptor: does your documentation still support the code?",
                )
            others = [
                f
                for f in fields
                if f.name not in self.cs.descriptors and (f.name, f.old, f.new) not in uniform
            ]
            if others:
                shown = "; ".join(f"{f.name.replace('_', ' ')} {f.old} → {f.new}" for f in others)
                self.add("watched-changed", code, f"{shown}.")

    def payment(self, table: PaymentTable) -> None:
        threshold = self.rules.payment_threshold
        for row in table.rows:
            if row.status_old in PAYABLE and row.status_new not in PAYABLE:
                self.add(
                    "watched-non-payable",
                    row.code,
                    f"Medicare no longer pays {row.code} (status {row.status_old} → "
                    f"{row.status_new}).",
                    self.replacement(row.code),
                )
            elif row.percent is not None and abs(row.percent) > threshold:
                impact = row.annual_impact
                self.add(
                    "watched-payment",
                    row.code,
                    f"{row.code} pays ${row.payment_old} → ${row.payment_new} nationally "
                    f"({row.percent:+.2%})"
                    + (f": {_money(impact)} a year at your volume." if impact else "."),
                    "Update expected reimbursement; payers that follow Medicare rates follow "
                    "this change.",
                )

    def ncci(self) -> None:
        """New edit pairs and tightened modifier indicators among watched codes."""
        for record in self.cs.records("added"):
            one, two = record["column1"], record["column2"]
            watched = [c for c in (one, two) if self.watchlist.is_watched(c)]
            pair = f"{one} {two}"
            allowed = "allowed" if record.get("modifier_indicator") == "1" else "not allowed"
            if len(watched) == 2:
                self.add(
                    "ncci-pair-watched",
                    pair,
                    f"New NCCI edit: {two} is not paid with {one} on the same day "
                    f"(a modifier is {allowed}).",
                    "Use a distinct-service modifier (59 / XE XS XU) only when documentation "
                    "supports it; otherwise schedule or bill the two differently.",
                )
            elif watched:
                self.add(
                    "ncci-pair-one-watched",
                    pair,
                    f"New NCCI edit between {one} and {two} touches your code {watched[0]}.",
                )
        for record in self.cs.records("changed"):
            one, two = record["column1"], record["column2"]
            for change in record.get("fields", ()):
                if (
                    change.name == "modifier_indicator"
                    and (change.old, change.new) == ("1", "0")
                    and self.watchlist.is_watched(one)
                    and self.watchlist.is_watched(two)
                ):
                    self.add(
                        "ncci-modifier-tightened",
                        f"{one} {two}",
                        f"NCCI edit {one} / {two}: a modifier no longer bypasses it (1 → 0).",
                        f"{two} will be denied with {one} on the same day, modifier or not.",
                    )

    def mue(self) -> None:
        for kind in ("added", "changed"):
            for record in self.cs.records(kind):
                code = self.code_of(record)
                usual = self.watchlist.units_per_day(code)
                limit = record.get("mue_value")
                if usual is not None and limit is not None and limit < usual:
                    self.add(
                        "mue-below-usage",
                        code,
                        f"{code}'s MUE is {limit} unit(s) a day, below the {usual} you "
                        "usually bill.",
                        "Units above the limit will be denied: review your daily billing.",
                    )


def _text(record: Mapping[str, Any], columns: Iterable[str]) -> str:
    return next((str(record[c]) for c in columns if record.get(c)), "")


def _money(amount: Decimal) -> str:
    sign = "-" if amount < 0 else "+"
    return f"{sign}${abs(amount):,.2f}"
