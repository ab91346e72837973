"""Check a computed HCPCS change set against CMS's own ACTION CD, code by code.

CMS codes each record of an annual file with what its maintenance was (A add,
C long description, D discontinued, N none, ...). Our diff finds what differs
between two annual files. The two disagree for real reasons (quarterly
updates between annual files, codes missing from a file, corrections CMS does
not code); each rule below names one, worked out from the 2017-2020 files.
A code no rule explains is reported as `unexplained`, never dropped.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import polars as pl

from pipeline.diff.changeset import KINDS, ChangeSet, FieldChange, jsonable
from pipeline.errors import PipelineError

#: Fields behind each change action (F coverage, P payment, T miscellaneous).
COVERAGE = {"coverage_code", "cim_reference", "mcm_reference", "statute", "processing_note"}
PAYMENT = {"pricing_indicator", "multiple_pricing_indicator", "asc_group", "asc_effective_date"}
PAYMENT |= {"mog_group", "mog_indicator", "mog_effective_date"}
SERVICE = {"betos", "type_of_service"}
#: Administrative data: neither descriptors nor the code's own dates.
ADMIN = COVERAGE | PAYMENT | SERVICE | {"lab_certification", "cross_reference"}
ADMIN |= {"anesthesia_base_units"}
CHANGE_ACTIONS = "BCFPST"
#: Largest character edit of a descriptor still read as a spelling fix.
TYPO_CHARS = 4
#: CMS keeps a discontinued code in the annual file for four years.
RETENTION_YEARS = 4

#: Rules under which our kind and CMS's action agree.
AGREEING = frozenset(
    {"no-change", "added", "added-earlier-quarter", "discontinued", "interim", "reactivated"}
    | {"purged", "discontinuation-scheduled", *(f"coded-{action}" for action in CHANGE_ACTIONS)}
)
#: rule id -> the reason, in words. Worked out from the 2017-2020 files.
REASONS: dict[str, str] = {
    "no-change": "no change found; CMS: N (no maintenance)",
    "added": "new code effective with this edition; CMS: A",
    "added-earlier-quarter": "new code, added by a quarterly update before this edition; CMS: A",
    "discontinued": "terminated since the previous edition; CMS: D",
    "interim": "added and terminated between the two editions; CMS: D",
    "reactivated": "reactivated; CMS: R",
    "purged": "dropped four years after its termination, as CMS does; so no action",
    "coded-C": "long description changed; CMS: C",
    "coded-S": "short description changed; CMS: S",
    "coded-B": "long description and coverage data changed; CMS: B",
    "coded-F": "coverage data changed; CMS: F",
    "coded-P": "payment data (pricing indicator, ASC group or date) changed; CMS: P",
    "coded-T": "BETOS or type of service changed; CMS: T",
    "missing-from-previous": "in force since an add date on or before the previous edition "
    "but missing from the previous annual file (left out, or published after it): N",
    "added-then-changed": "added by a quarterly update before this edition, then changed: "
    "CMS codes the change",
    "addition-restated": "already in the previous annual file, listed ahead of its add date "
    "(after that file's effective date): CMS restates the addition (A)",
    "code-reused": "code number reused: CMS re-added it with a later add date (A)",
    "removed-silently": "absent from this file though active in the previous one (no "
    "termination date): dropped without a discontinuation, so no D",
    "retroactive-discontinuation": "terminated retroactively, on or before the previous "
    "edition's date: the discontinuation belongs to an earlier update (N)",
    "reverted": "the previous file's maintenance withdrawn (action effective date moved "
    "back): an error undone, coded N",
    "earlier-quarter-change": "changed by a quarterly update after the previous annual file "
    "(new action effective date before this edition): not restated here (N)",
    "typo-fix": f"spelling fix of a descriptor (at most {TYPO_CHARS} characters): "
    "CMS does not code it (N)",
    "xref-to-missing-code": "cross-reference to a code not in the file corrected or dropped: "
    "CMS does not code it (N)",
    "payment-date-precedes": "ASC payment data effective on or before the previous edition "
    "(missing from the previous file): not a change of this edition (N)",
    "admin-uncoded": "administrative data changed without maintenance: CMS kept N and the "
    "same action effective date",
    "discontinuation-scheduled": "termination date set after this edition's effective date: "
    "CMS codes the discontinuation (D) now, the code stays active until then",
    "not-in-file": "CMS codes a change of coverage (F), payment (P) or service data (T), "
    "fields this edition's file does not carry (a column subset): it cannot be seen here",
    "unexplained": "no rule explains this combination",
}


@dataclass(frozen=True)
class Finding:
    """One code whose computed kind and CMS action disagree, and why."""

    code: str
    kind: str
    action: str | None
    rule: str
    detail: str

    @property
    def reason(self) -> str:
        return REASONS[self.rule]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "reason": self.reason}


@dataclass(frozen=True)
class Reconciliation:
    """Our change kinds against CMS's action codes for one cycle of a code set."""

    codeset: str
    old_version: str
    new_version: str
    by_kind_action: Mapping[tuple[str, str | None], int]
    by_reason: Mapping[str, int]
    disagreements: tuple[Finding, ...]

    @property
    def agreements(self) -> int:
        return sum(n for rule, n in self.by_reason.items() if rule in AGREEING)

    @property
    def unexplained(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.disagreements if f.rule == "unexplained")

    def to_dict(self) -> dict[str, Any]:
        return {
            "codeset": self.codeset,
            "from": self.old_version,
            "to": self.new_version,
            "agreements": self.agreements,
            "disagreements": len(self.disagreements),
            "unexplained": len(self.unexplained),
            "by_kind_action": [
                {"kind": k, "action": a, "count": n} for (k, a), n in self.by_kind_action.items()
            ],
            "by_reason": [
                {"rule": r, "agrees": r in AGREEING, "reason": REASONS[r], "count": n}
                for r, n in self.by_reason.items()
            ],
            "findings": [f.to_dict() for f in self.disagreements],
        }


Row = dict[str, Any]
Explained = tuple[str, str]


@dataclass(frozen=True)
class _Cycle:
    old_effective: date
    new_effective: date
    new_codes: frozenset[str]
    descriptors: tuple[str, ...]
    #: The columns the editions carry (None: every ANWEB field).
    columns: frozenset[str] | None = None


def reconcile(
    cs: ChangeSet,
    new_actions: pl.DataFrame,
    old_actions: pl.DataFrame | None = None,
    columns: Collection[str] | None = None,
) -> Reconciliation:
    """Compare every code's change kind with CMS's ACTION CD in the new edition.

    `new_actions`: the new edition's `code`, `action_code`, `action_effective_date`,
    `add_date`. `old_actions`: the previous edition's `code`, `action_effective_date`;
    without it, the rules that need to see CMS move a code's action date cannot apply,
    and the codes they would explain come out unexplained. `columns`: the fields the
    editions carry, when they are a subset of ANWEB's (the quarterly tables): a change CMS
    codes in a field left out is then explained as such rather than unexplained.
    """
    if cs.key != ("code",):
        raise PipelineError(f"{cs.codeset}: reconciling needs the key ('code',), not {cs.key}")
    codes = _codes(cs, new_actions, old_actions)
    new_eff = cs.new.effective_date
    cutoff = _years_before(new_eff, RETENTION_YEARS)
    kind, action, added = pl.col("kind"), pl.col("action"), pl.col("add_date")
    bulk = (
        pl.when((kind == "unchanged") & (action == "N"))
        .then(pl.lit("no-change"))
        .when((kind == "added") & (action == "A") & (added.is_null() | (added >= new_eff)))
        .then(pl.lit("added"))
        .when((kind == "added") & (action == "A"))
        .then(pl.lit("added-earlier-quarter"))
        .when((kind == "deleted") & (action == "D"))
        .then(pl.lit("discontinued"))
        .when((kind == "interim") & (action == "D"))
        .then(pl.lit("interim"))
        .when((kind == "reactivated") & (action == "R"))
        .then(pl.lit("reactivated"))
        .when((kind == "purged") & action.is_null() & (pl.col("termination") < cutoff))
        .then(pl.lit("purged"))
    )
    codes = codes.with_columns(bulk.alias("rule"))
    reasons: Counter[str] = Counter(dict(codes.group_by("rule").len().drop_nulls().iter_rows()))
    cycle = _Cycle(
        cs.old.effective_date,
        new_eff,
        frozenset(codes.filter("in_new")["code"]),
        cs.descriptors,
        None if columns is None else frozenset(columns),
    )
    records = {r["code"]: r for r in cs.records("changed")}
    findings = []
    for row in codes.filter(pl.col("rule").is_null()).sort("code").iter_rows(named=True):
        record = records.get(row["code"], {})
        row["record"] = record
        row["fields"] = {c.name: c for c in record.get("fields", ())}
        rule, detail = _explain(row, cycle)
        reasons[rule] += 1
        findings.append(Finding(row["code"], row["kind"], row["action"], rule, detail))
    tally = codes.group_by("kind", "action").len()
    order = {k: i for i, k in enumerate((*KINDS, "unchanged"))}
    return Reconciliation(
        codeset=cs.codeset,
        old_version=cs.old.version,
        new_version=cs.new.version,
        by_kind_action={
            (k, a): n
            for k, a, n in sorted(tally.iter_rows(), key=lambda r: (order[r[0]], r[1] or ""))
        },
        by_reason={rule: reasons[rule] for rule in REASONS if reasons[rule]},
        disagreements=tuple(f for f in findings if f.rule not in AGREEING),
    )


def _codes(
    cs: ChangeSet, new_actions: pl.DataFrame, old_actions: pl.DataFrame | None
) -> pl.DataFrame:
    """One row per code of either edition: kind, CMS action and the dates the rules read."""
    term = cs.termination
    parts = []
    for kind in KINDS:
        frame = getattr(cs, kind)
        removed = pl.col("reason") == "removed" if "reason" in frame.columns else pl.lit(False)
        parts.append(
            frame.select(
                "code",
                pl.lit(kind).alias("kind"),
                removed.alias("removed"),
                (pl.col(term) if term else pl.lit(None)).cast(pl.Date).alias("termination"),
            )
        )
    kinds = pl.concat(parts)
    new = new_actions.select(
        "code",
        pl.col("action_code").alias("action"),
        pl.col("action_effective_date").alias("aed"),
        "add_date",
        pl.lit(True).alias("in_new"),
    )
    codes = new.join(kinds, on="code", how="full", coalesce=True, validate="1:1").with_columns(
        pl.col("kind").fill_null("unchanged"),
        pl.col("removed").fill_null(False),
        pl.col("in_new").fill_null(False),
    )
    absent = pl.col("kind").is_in(["purged"]) | pl.col("removed")
    wrong = codes.filter(pl.col("in_new") == absent)
    unchanged = codes.filter(pl.col("kind") == "unchanged").height
    if wrong.height or unchanged != cs.unchanged:
        raise PipelineError(
            f"{cs.codeset}: the actions given are not those of edition {cs.new.version} "
            f"(e.g. {wrong['code'][0] if wrong.height else 'unchanged count'} does not match)"
        )
    old = (
        old_actions.select("code", pl.col("action_effective_date").alias("old_aed"))
        if old_actions is not None
        else pl.DataFrame(schema={"code": pl.String, "old_aed": pl.Date})
    )
    return codes.join(old, on="code", how="left")


def _explain(row: Row, cycle: _Cycle) -> Explained:
    """The first rule that fits the code, with the facts that make it fit."""
    check = _BY_KIND.get(row["kind"])
    found = check(row, cycle) if check else None
    return found or ("unexplained", _facts(row))


def _facts(row: Row) -> str:
    dates = (("add", "add_date"), ("action effective", "aed"), ("termination", "termination"))
    out = [_changes(row)] if row["fields"] else []
    return "; ".join(out + [f"{label} date {_show(row[key])}" for label, key in dates])


def _show(value: Any) -> str:
    return "none" if value is None else str(jsonable(value))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _added(row: Row, cycle: _Cycle) -> Explained | None:
    action, add, aed = row["action"], row["add_date"], row["aed"]
    if action == "N" and add is not None and add <= cycle.old_effective:
        return "missing-from-previous", f"add date {add}, previous edition {cycle.old_effective}"
    if action and action in CHANGE_ACTIONS and add and aed and add < cycle.new_effective:
        return "added-then-changed", f"add date {add}, action {action} effective {aed}"
    return None


def _unchanged(row: Row, cycle: _Cycle) -> Explained | None:
    add = row["add_date"]
    if row["action"] == "A" and add is not None and add > cycle.old_effective:
        return "addition-restated", f"add date {add}, previous edition {cycle.old_effective}"
    return _not_in_file(row, cycle)


#: The fields behind each action that a column subset may leave out.
_HIDDEN = {"F": COVERAGE, "P": PAYMENT, "T": SERVICE}


def _not_carried(fields: set[str], cycle: _Cycle) -> bool:
    return cycle.columns is not None and not fields & cycle.columns


def _not_in_file(row: Row, cycle: _Cycle) -> Explained | None:
    action = row["action"] or ""
    if action not in _HIDDEN or not _not_carried(_HIDDEN[action], cycle):
        return None
    seen = f"; seen: {_changes(row)}" if row["fields"] else ""
    return "not-in-file", f"action {action} effective {_show(row['aed'])}{seen}"


def _deleted(row: Row, cycle: _Cycle) -> Explained | None:
    end = row["termination"]
    if row["removed"] and row["action"] is None and end is None:
        return "removed-silently", "no termination date in the previous file"
    if row["action"] == "N" and end is not None and end <= cycle.old_effective:
        return "retroactive-discontinuation", (
            f"termination date {end}, action effective {row['aed']}, "
            f"previous edition {cycle.old_effective}"
        )
    return None


def _changed(row: Row, cycle: _Cycle) -> Explained | None:
    fields: dict[str, FieldChange] = row["fields"]
    names, action = set(fields), row["action"] or ""
    listed = f"fields: {', '.join(fields)}"
    if action in _CODED and _CODED[action](names):
        return f"coded-{action}", listed
    if action == "B" and "long_description" in names and _not_carried(COVERAGE, cycle):
        return "coded-B", f"{listed} (the coverage data is not in this file)"
    added = fields.get("add_date")
    if action == "A" and added is not None and added.new > added.old:
        short = fields.get("short_description")
        what = f"; short description {short.old!r} -> {short.new!r}" if short else ""
        return "code-reused", f"add date {added.old} -> {added.new}{what}"
    if action == "A" and added is None:
        return _unchanged(row, cycle)
    end = fields.get("termination_date")
    if action == "D" and end is not None and end.new and end.new > cycle.new_effective:
        return "discontinuation-scheduled", f"termination date {end.old} -> {end.new}"
    if action != "N":
        return _not_in_file(row, cycle)
    old_aed, aed = row["old_aed"], row["aed"]
    if old_aed is not None and aed is not None and aed < old_aed:
        return "reverted", f"action effective date {old_aed} -> {aed}; {listed}"
    if old_aed is not None and aed is not None and old_aed < aed < cycle.new_effective:
        return "earlier-quarter-change", f"action effective date {old_aed} -> {aed}; {listed}"
    if names <= set(cycle.descriptors) and all(
        c.old and c.new and _char_edits(c.old, c.new) <= TYPO_CHARS for c in fields.values()
    ):
        return "typo-fix", "; ".join(f"{n}: {_words(c)}" for n, c in fields.items())
    xref = fields.get("cross_reference")
    gone = set((xref.old or "").split()) - set((xref.new or "").split()) if xref else set()
    if names == {"cross_reference"} and gone and not gone & cycle.new_codes:
        return "xref-to-missing-code", f"{_changes(row)} ({', '.join(sorted(gone))} not in file)"
    since = row["record"].get("asc_effective_date")
    if names <= {"asc_group", "asc_effective_date"} and since and since <= cycle.old_effective:
        return "payment-date-precedes", f"{_changes(row)}; ASC effective date {since}"
    if names <= ADMIN and old_aed is not None and old_aed == aed:
        return "admin-uncoded", _changes(row)
    return None


_CODED: dict[str, Callable[[set[str]], bool]] = {
    "C": lambda f: "long_description" in f,
    "S": lambda f: "short_description" in f,
    "B": lambda f: "long_description" in f and bool(f & COVERAGE),
    "F": lambda f: bool(f & COVERAGE),
    "P": lambda f: bool(f & PAYMENT),
    "T": lambda f: bool(f & SERVICE),
}


def _char_edits(old: str, new: str) -> int:
    """Characters replaced, removed or inserted to turn `old` into `new`."""
    ops = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    return sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in ops if tag != "equal")


def _words(change: FieldChange) -> str:
    if change.words is None:
        return f"{_show(change.old)} -> {_show(change.new)}"
    return f"{' '.join(change.words.removed)!r} -> {' '.join(change.words.inserted)!r}"


def _changes(row: Row) -> str:
    return "; ".join(f"{n}: {_show(c.old)} -> {_show(c.new)}" for n, c in row["fields"].items())


_BY_KIND: dict[str, Callable[[Row, _Cycle], Explained | None]] = {
    "added": _added,
    "changed": _changed,
    "unchanged": _unchanged,
    "deleted": _deleted,
}
