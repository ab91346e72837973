"""Watchlist audit: what is wrong with a clinic's own list of codes, against the newest editions.

A cheat sheet copied from clinic to clinic keeps its mistakes for years: a mistyped code,
a code Medicare never pays, G-codes that ended, one code under two names. The audit says
so in a sentence a billing lead can act on, and names what to bill instead.

Kinds (closed, `KINDS`): `not-a-code` (malformed, or in no newest edition while a real
code of the same family one substitution or swap away carries the clinic's label: probably
mistyped), `not-found` (well formed, in none of the code sets checked, which hold only part
of all codes: the bundled fee schedule only its PT/OT rows), `not-payable` (a fee-schedule
status the kind does not pay), `discontinued` (terminated in HCPCS, a status of a deleted
code, or absent and listed as deleted by the crosswalk), `duplicate` (same code and
modifier on several lines), `label-mismatch` (the clinic's label shares no distinctive
word with the descriptor, or fits another code clearly better), and `note` (information,
not an error: 59 is a CPT modifier and NCCI prefers X{EPSU}).
A suggestion by descriptor similarity alone must share the label's meaning
(`same_meaning`); otherwise none is made.

ICD-10-CM codes are looked up without the dot, as the files key them, and shown with it.

Replacements: the publisher's cross-reference, then the reviewed crosswalk; only when both
are silent, descriptor similarity (`source="guess"`). Ranges are watched, not billed: the
audit checks single codes only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from itertools import groupby
from typing import Any, Literal, get_args

from pipeline.analysis.catalogue import Catalogue, families, family
from pipeline.analysis.reference import (
    Reference,
    distinctive,
    load_reference,
    neighbours,
    same_meaning,
    shared_words,
    stems,
)
from pipeline.codesets import kinds
from pipeline.config.load import Config
from pipeline.impact.watchlist import Entry, Watchlist, dotted
from pipeline.store.snapshots import Store

Kind = Literal[
    "not-a-code",
    "not-found",
    "not-payable",
    "discontinued",
    "duplicate",
    "label-mismatch",
    "note",
]
KINDS: tuple[Kind, ...] = get_args(Kind)
Source = Literal["publisher", "crosswalk", "guess"]
_GUESSES = 3


@dataclass(frozen=True)
class Suggestion:
    """A code to bill instead (or that was meant), where that comes from, and why."""

    code: str
    label: str | None
    reason: str
    source: Source
    citation: str | None = None


@dataclass(frozen=True)
class Finding:
    kind: Kind
    code: str
    modifier: str | None
    lines: tuple[int, ...]
    labels: tuple[str, ...]
    message: str
    suggestions: tuple[Suggestion, ...] = ()
    status: str | None = None
    termination_date: date | None = None
    #: label-mismatch: the text the clinic's label was compared with.
    reference: str | None = None
    #: Where the advice comes from when no suggestion carries it (a no-replacement row).
    citation: str | None = None
    #: The code as a reader writes it: an ICD-10-CM code with its dot.
    shown: str = ""

    @property
    def display(self) -> str:
        code = self.shown or self.code
        return f"{code} {self.modifier}" if self.modifier else code


@dataclass(frozen=True)
class Audit:
    findings: tuple[Finding, ...]
    #: code set -> version of the newest edition checked against.
    editions: dict[str, str] = field(default_factory=dict)
    watchlist: str = ""
    #: code set -> its name in words ("HCPCS Level II"), for "the code sets checked".
    titles: dict[str, str] = field(default_factory=dict)

    @property
    def counts(self) -> dict[Kind, int]:
        return {k: sum(f.kind == k for f in self.findings) for k in KINDS}

    @property
    def to_correct(self) -> int:
        """Findings that ask for a correction (every kind but notes): the one count shown
        by the index, the reports, the audit page and the CLI."""
        return sum(f.kind != "note" for f in self.findings)

    def of_kind(self, kind: Kind) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        findings = [asdict(f) for f in self.findings]
        for item, f in zip(findings, self.findings, strict=True):
            item.update(lines=list(f.lines), labels=list(f.labels))
            item["termination_date"] = f.termination_date and f.termination_date.isoformat()
        item["shown"] = f.display
        return {
            "watchlist": self.watchlist,
            "editions": dict(self.editions),
            "counts": dict(self.counts),
            "to_correct": self.to_correct,
            "findings": findings,
        }


def audit(
    watchlist: Watchlist, store: Store, config: Config, reference: Reference | None = None
) -> Audit:
    """Check every single code (and modifier) of `watchlist` against the newest editions."""
    cat = Catalogue(store, config, reference or load_reference())
    entries = watchlist.codes
    cat.load({e.code for e in entries} | {e.modifier for e in entries if e.modifier})
    findings: list[Finding] = []
    for (code, modifier), group in groupby(sorted(entries, key=_key), key=_key):
        same = list(group)
        findings += _check_code(cat, code, modifier or None, same)
        if len(same) > 1:
            findings.append(_duplicate(code, modifier or None, same))
    findings += (f for e in entries if (f := _check_label(cat, e)) is not None)
    order = {k: i for i, k in enumerate(KINDS)}
    findings.sort(key=lambda f: (f.lines[0], order[f.kind], f.code, f.modifier or ""))
    findings = [replace(f, shown=_shown(cat, watchlist, f.code)) for f in findings]
    return Audit(
        findings=tuple(findings),
        editions=cat.editions,
        watchlist=watchlist.source,
        titles=cat.titles,
    )


def _shown(cat: Catalogue, watchlist: Watchlist, code: str) -> str:
    """The clinic's spelling of the code, or an ICD-10-CM code with the publisher's dot."""
    written = watchlist.written(code)
    if written != code:
        return written
    if any(kinds()[r.kind].diagnosis for r in cat.records(code)):
        return dotted(code)
    return code


def _key(entry: Entry) -> tuple[str, str]:
    return entry.code, entry.modifier or ""


def _check_code(cat: Catalogue, code: str, mod: str | None, same: list[Entry]) -> list[Finding]:
    """Whether the code (and its modifier) exists, is paid, and is still current."""
    labels = tuple(e.label for e in same)
    out: list[Finding] = []

    def add(kind: Kind, message: str, found: Iterable[Suggestion] = (), **extra: Any) -> None:
        lines = tuple(e.line for e in same)
        out.append(Finding(kind, code, mod, lines, labels, message, tuple(found), **extra))

    if mod and not cat.exists(mod):
        typos = _typos(cat, mod, "")
        add(
            "not-a-code",
            f"{mod}, the modifier on {code}, is not a modifier in {_checked(cat)}{_meant(typos)}.",
            typos,
        )
    for modifier in filter(None, dict.fromkeys((code, mod))):
        if note := _level_one(cat, modifier):
            add("note", note, _reviewed(cat, modifier))
    records = cat.records(code)
    fee = [r for r in records if r.status is not None]
    fee = [r for r in fee if r.modifier == mod] or [r for r in fee if r.modifier is None]
    rows = cat.reference.rows(code)
    if code in cat.reference.modifiers:
        return out
    if not records and not rows:
        typos = _typos(cat, code, " / ".join(labels))
        if not families(code):
            add("not-a-code", f"{code} does not have the shape of any code{_meant(typos)}.", typos)
        elif typos:
            add("not-a-code", f"{code} is not in {_checked(cat)}{_meant(typos)}.", typos)
        else:
            add("not-found", f"{code} is not in the code sets checked: {_scope(cat)}.")
    elif not records:
        found, instead, citation = _replacements(cat, code)
        add(
            "discontinued",
            f"{code} is no longer a code (it is in none of {_checked(cat)}, "
            f"and the crosswalk lists it as deleted); {instead}.",
            found,
            citation=citation,
        )
    elif not any(r.active for r in records):
        found, instead, citation = _replacements(cat, code)
        ended = max(
            (r for r in records if r.terminated), key=lambda r: str(r.terminated), default=None
        )
        if ended is not None and ended.terminated is not None:
            when = f"on {ended.terminated.isoformat()} (HCPCS {ended.version})"
            extra: dict[str, Any] = {"termination_date": ended.terminated}
        else:
            status = next((r.status for r in fee if r.status in kinds()[r.kind].deleted), "D")
            kind = next((r.kind for r in (*fee, *records)), "generic")
            when = f"on the fee schedule ({_status(status, fee[0].version if fee else '', kind)})"
            extra = {"status": status}
        add(
            "discontinued",
            f"{code} was discontinued {when}; {instead}.",
            found,
            citation=citation,
            **extra,
        )
    elif fee and (status := fee[0].status or "") in kinds()[fee[0].kind].not_paid:
        found, instead, citation = _replacements(cat, code)
        add(
            "not-payable",
            f"Medicare does not pay {code}: "
            f"{_status(status, fee[0].version, fee[0].kind)}; {instead}.",
            found,
            status=status,
            citation=citation,
        )
    return out


def _level_one(cat: Catalogue, modifier: str) -> str | None:
    """What to know about a CPT modifier that Medicare wants replaced where it can be."""
    rows = cat.reference.rows(modifier) if modifier in cat.reference.modifiers else ()
    better = [r.replacement or "" for r in rows if r.relation == "more-specific"]
    if not better:
        return None
    return (
        f"{modifier} is a CPT (Level I) modifier, so CMS's HCPCS file does not list it; NCCI "
        f"guidance: Medicare prefers the more specific {_either(better)} where one applies, "
        f"and {modifier} only when none does."
    )


def _checked(cat: Catalogue) -> str:
    return f"the code sets checked ({_scope(cat)})"


def _scope(cat: Catalogue) -> str:
    """The code sets checked, by name and edition: their names say which slice each holds."""
    checked = "; ".join(f"{cat.titles.get(c, c)} ({v})" for c, v in cat.editions.items())
    return checked or "none (the store holds no edition)"


def _meant(typos: list[Suggestion]) -> str:
    if not typos:
        return "; no real code with a matching label is one character away"
    return (
        f"; probably mistyped: {typos[0].code} ({typos[0].label}) is one character away "
        "and matches the label"
    )


def _either(codes: list[str]) -> str:
    return ", ".join(codes[:-1]) + f" or {codes[-1]}" if len(codes) > 1 else codes[0]


def _status(status: str, version: str, kind: str) -> str:
    meaning = kinds()[kind].statuses.get(status, "unknown status")
    return f'fee-schedule status {status} in {version}, "{meaning[0].lower()}{meaning[1:]}"'


def _reviewed(cat: Catalogue, code: str) -> list[Suggestion]:
    """Replacements from the publisher's cross-reference, then the crosswalk; no repeats."""
    out: list[Suggestion] = []
    for rec in cat.records(code):
        for xref in (rec.xref or "").split():
            reason = f"CMS's own cross-reference for {code} in {rec.codeset} {rec.version}"
            cite = f"CMS {rec.codeset.upper()} {rec.version}: {code} cross_reference {xref}"
            out.append(Suggestion(xref, None, reason, "publisher", cite))
    for row in cat.reference.rows(code):
        if row.replacement:
            out.append(Suggestion(row.replacement, None, row.note, "crosswalk", row.source))
    cat.load(s.code for s in out)
    first = {s.code: s for s in reversed(out)}
    return [replace(s, label=cat.label(s.code)) for s in out if first.pop(s.code, None) is s]


def _replacements(cat: Catalogue, code: str) -> tuple[list[Suggestion], str, str | None]:
    """What to bill instead, that advice in words, and the citation of a no-replacement row."""
    found = _reviewed(cat, code)
    ended = next((r for r in cat.reference.rows(code) if r.relation == "no-replacement"), None)
    if found:
        also = f" (other options: {', '.join(s.code for s in found[1:])})" if found[1:] else ""
        return found, f"bill {found[0].code} instead{also}", None
    if ended is not None:
        first = ended.note.split(" ", 1)[0]
        keep = first.isupper() or first in ("Medicare", "Medicaid")
        return (
            [],
            "no replacement: " + (ended.note if keep else ended.note[0].lower() + ended.note[1:]),
            ended.source,
        )
    if guesses := _similar(cat, code):
        return guesses, "no reviewed replacement is known (similar codes listed as guesses)", None
    return [], "no replacement is known", None


def _typos(cat: Catalogue, code: str, label: str) -> list[Suggestion]:
    """Real codes of the same family one character away, best label match first."""
    own = families(code)
    candidates = [(c, how) for c, how in neighbours(code) if families(c) & own]
    cat.load(c for c, _ in candidates)
    mine, words = distinctive(label), stems(label)

    def rank(item: tuple[str, str]) -> tuple[int, int, str]:
        theirs = stems(cat.text(item[0]))
        return -len(mine & theirs), -len(words & theirs), item[0]

    out = []
    real = [
        c for c in candidates if cat.exists(c[0]) and shared_words(label, stems(cat.text(c[0])))
    ]
    for other, how in sorted(real, key=rank)[:_GUESSES]:
        shared = shared_words(label, stems(cat.text(other)))
        reason = f"{how}: {code} -> {other}, {cat.label(other)}; the clinic's label '{label}' "
        reason += f"shares {_quoted(shared)}"
        out.append(Suggestion(other, cat.label(other), reason, "guess"))
    return out


def _similar(cat: Catalogue, code: str) -> list[Suggestion]:
    """Payable codes whose text shares at least half of this code's distinctive words."""
    text = cat.text(code) or ""
    mine = distinctive(text)
    pool = {**cat.stems["cpt"], **cat.stems["hcpcs"]}
    scored = sorted(
        (-len(mine & theirs), len(theirs - mine), other)
        for other, theirs in pool.items()
        if other != code and mine and 2 * len(mine & theirs) >= len(mine)
    )
    cat.load(c for *_, c in scored)
    out = []
    for *_, other in [s for s in scored if cat.payable(s[-1])][:_GUESSES]:
        reason = f"its description shares {_quoted(shared_words(text, pool[other]))} with {code}'s"
        out.append(Suggestion(other, cat.label(other), reason, "guess"))
    return out


def _check_label(cat: Catalogue, entry: Entry) -> Finding | None:
    """A label naming a different service than the code's descriptor (for CPT: our label).

    Mismatch: the label shares no distinctive word with it, or another code of the same
    family shares more of the label's distinctive words (GP labelled "occupational therapy").
    """
    text, mine = cat.text(entry.code), distinctive(entry.label)
    if text is None or not mine:
        return None  # nothing to compare with, or a label too general to judge
    shared = mine & stems(text)
    diagnosis = any(kinds()[r.kind].diagnosis for r in cat.records(entry.code))
    pool = {} if diagnosis else cat.stems.get(family(entry.code) or "", {})
    better = sorted(
        (-len(mine & theirs), len(theirs - mine), other)
        for other, theirs in pool.items()
        if other != entry.code
        and len(mine & theirs) > len(shared)
        and same_meaning(entry.label, cat.text(other))
    )
    if shared and not better:
        return None
    what = "label in plain words" if entry.code in cat.ours else "official descriptor"
    where, shown = f"Line {entry.line}: the label '{entry.label}'", cat.label(entry.code)
    if not shared:
        message = f"{where} shares no distinctive word with {entry.code}'s {what}, '{shown}'."
    else:
        other = better[0][-1]
        message = (
            f"{where} fits {other} ({cat.label(other)}) better than {entry.code} "
            f"({what}: '{shown}')."
        )
    found = []
    for *_, other in better[:_GUESSES]:
        words = _quoted(shared_words(entry.label, stems(cat.text(other))))
        found.append(Suggestion(other, cat.label(other), f"the label shares {words}", "guess"))
    return Finding(
        "label-mismatch",
        entry.code,
        entry.modifier,
        (entry.line,),
        (entry.label,),
        message,
        tuple(found),
        reference=shown,
    )


def _duplicate(code: str, modifier: str | None, same: list[Entry]) -> Finding:
    same = sorted(same, key=lambda e: e.line)
    lines, labels = tuple(e.line for e in same), tuple(e.label for e in same)
    listed = ", ".join(map(str, lines[:-1])) + f" and {lines[-1]}"
    distinct = list(dict.fromkeys(labels))
    how = (
        "under the same label"
        if len(distinct) == 1
        else "as " + " / ".join(f"'{label}'" for label in distinct)
    )
    shown = f"{code} {modifier or ''}".strip()
    message = f"{shown} is listed {len(same)} times (lines {listed}) {how}."
    return Finding("duplicate", code, modifier, lines, labels, message)


def _quoted(words: Iterable[str]) -> str:
    return ", ".join(f"'{w}'" for w in words)
