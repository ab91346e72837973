"""The editions a claim line is judged by: each stored edition with its effective window.

An edition is in force from its effective date until the next stored edition of the same
code set takes effect, and no longer than the period its label names (HCPCS `2020` until
2021-01-01, ICD-10-CM `FY2025` until 2025-10-01, fee schedule `RVU25D` until the next
year's January release, NCCI/MUE `2025Q1` until the next quarter): an edition does not
speak for a year whose own edition is not stored. An edition whose label names no period
stays in force until the next one. A date of service that
no window contains is judged `no_data`, never passed.

Code sets are found by their kind (the reader formats they declare), never by their id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from pipeline.errors import ConfigError

if TYPE_CHECKING:
    from pipeline.config import Config
    from pipeline.spec import CodeSetSpec
    from pipeline.store import Manifest, Snapshot, Store

Kind = Literal["hcpcs", "icd10cm", "pfs", "ptp", "mue"]
KINDS: tuple[Kind, ...] = ("hcpcs", "icd10cm", "pfs", "ptp", "mue")
#: The code-set kinds (`pipeline.codesets`) the check reads, by the kind's name.
_KIND_OF: dict[str, Kind] = {
    "hcpcs": "hcpcs",
    "icd10cm": "icd10cm",
    "pfs": "pfs",
    "ncci": "ptp",
    "mue": "mue",
}
#: The columns each kind's check reads from a snapshot.
NEEDED: dict[Kind, tuple[str, ...]] = {
    "hcpcs": ("code", "record_type", "add_date", "termination_date"),
    "icd10cm": ("code", "billable"),
    "pfs": (
        "hcpcs",
        "modifier",
        "status_code",
        "non_facility_total",
        "facility_total",
        "conversion_factor",
    ),
    "ptp": ("column1", "column2", "effective_date", "deletion_date", "modifier_indicator"),
    "mue": ("code", "mue_value", "adjudication_indicator", "rationale"),
}
FOREVER = date(9999, 12, 31)


@dataclass(frozen=True)
class Edition:
    """One stored edition and the dates it decides: [start, end)."""

    codeset: str
    kind: Kind
    version: str
    start: date
    end: date
    snapshot: Snapshot

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def label(self) -> str:
        return f"{self.codeset} {self.version}"


@dataclass(frozen=True)
class EditionSet:
    """The editions of each kind, oldest first, and the kinds `pins` fixes to one edition
    for every date (a replay) rather than the edition in force on each date of service."""

    editions: Mapping[Kind, tuple[Edition, ...]]
    pins: Mapping[Kind, Edition] = field(default_factory=dict)

    @property
    def pinned(self) -> bool:
        return bool(self.pins)

    def of(self, kind: Kind) -> tuple[Edition, ...]:
        return self.editions.get(kind, ())

    def windows(self, kind: Kind) -> pl.DataFrame:
        """`edition` (label), `start`, `end`: one row per edition of `kind`."""
        rows = self.of(kind)
        return pl.DataFrame(
            {
                "edition": [e.label for e in rows],
                "start": [e.start for e in rows],
                "end": [e.end for e in rows],
            },
            schema={"edition": pl.String, "start": pl.Date, "end": pl.Date},
        )

    def describe(self) -> list[dict[str, Any]]:
        """Each edition, its window, and whether a replay pins it to every date."""
        return [
            {
                "kind": e.kind,
                "codeset": e.codeset,
                "version": e.version,
                "start": e.start.isoformat(),
                "last_day": "" if e.end == FOREVER else e.last_day.isoformat(),
                "pinned": self.pins.get(kind) == e,
            }
            for kind in KINDS
            for e in self.of(kind)
            if kind not in self.pins or self.pins[kind] == e
        ]


def kind_of(spec: CodeSetSpec) -> Kind | None:
    """Which of the check's kinds a code set is, by the kind it declares (None: not used)."""
    return _KIND_OF.get(spec.kind)


def period_end(version: str, effective: date) -> date | None:
    """The day after the period an edition's label names, if it names one."""
    label = version.upper()
    if match := re.fullmatch(r"FY(\d{4})", label):
        return date(int(match[1]), 10, 1)
    if match := re.fullmatch(r"RVU(\d{2})([A-D])", label):
        return date(2001 + int(match[1]), 1, 1)  # every release of a year is for that year
    if match := re.fullmatch(r"(\d{4})Q([1-4])", label):
        return _next_quarter(date(int(match[1]), 3 * int(match[2]) - 2, 1))
    if match := re.fullmatch(r"(\d{4})", label):
        return date(int(match[1]) + 1, 1, 1)
    return None


def _next_quarter(day: date) -> date:
    month = 3 * ((day.month - 1) // 3) + 4
    return date(day.year + (month > 12), (month - 1) % 12 + 1, 1)


def in_force(store: Store, config: Config) -> EditionSet:
    """Every stored edition of every kind the check knows, with its window of dates."""
    found: dict[Kind, list[Edition]] = {}
    by_set: dict[str, list[Manifest]] = {}
    for manifest in store.manifests():
        by_set.setdefault(manifest.codeset, []).append(manifest)
    for codeset, manifests in sorted(by_set.items()):
        try:
            spec = config.codeset(codeset)
        except ConfigError:
            continue
        kind = kind_of(spec)
        if kind is None:
            continue
        manifests.sort(key=lambda m: (m.effective_date, m.version))
        taken = found.setdefault(kind, [])
        for i, m in enumerate(manifests):
            end = period_end(m.version, m.effective_date) or FOREVER
            if i + 1 < len(manifests):
                end = min(end, manifests[i + 1].effective_date)
            # Several code sets of one kind are one series where their windows do not
            # meet (HCPCS annual files, then quarterly ones); where they overlap (two MUE
            # tables), the first code set by id judges.
            if any(e.start < end and m.effective_date < e.end for e in taken):
                continue
            snap = store.get(codeset, m.version)
            taken.append(Edition(codeset, kind, m.version, m.effective_date, end, snap))
    return EditionSet({k: tuple(sorted(v, key=lambda e: e.start)) for k, v in found.items() if v})


def pinned(editions: EditionSet, choice: str) -> EditionSet:
    """The editions a replay judges by: `newest` (every kind's newest edition for every
    date), a date (`2020-01-01`: the editions in force that day, for every date), or
    `codeset=version` pairs (those editions for every date; the other kinds stay the
    editions in force on each date, so that the difference is that code set's alone)."""
    choice = choice.strip()
    asked: dict[str, str] = {}
    on: date | None = None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", choice):
        try:
            on = date.fromisoformat(choice)
        except ValueError:
            raise ConfigError(f"--as-of {choice!r}: not a date") from None
    elif choice != "newest":
        for part in choice.split(","):
            codeset, sep, version = part.partition("=")
            if not sep or not codeset.strip() or not version.strip():
                raise ConfigError(
                    f"--as-of {choice!r}: give 'newest', a date (YYYY-MM-DD) or "
                    "CODESET=VERSION pairs separated by commas"
                )
            asked[codeset.strip()] = version.strip()
    known = {e.codeset for k in KINDS for e in editions.of(k)}
    for codeset in asked:
        if codeset not in known:
            raise ConfigError(
                f"--as-of: no stored code set {codeset!r} the check uses "
                f"(stored: {', '.join(sorted(known)) or 'none'})"
            )
    pins: dict[Kind, Edition] = {}
    for kind in KINDS:
        rows = editions.of(kind)
        if not rows:
            continue
        if on is not None:
            hit = [e for e in rows if e.start <= on < e.end]
        elif asked:
            if rows[0].codeset not in asked:
                continue
            version = asked[rows[0].codeset]
            hit = [e for e in rows if e.version == version]
            if not hit:
                stored = ", ".join(e.version for e in rows)
                raise ConfigError(
                    f"--as-of: no edition {version!r} of {rows[0].codeset} (stored: {stored})"
                )
        else:
            hit = [rows[-1]]
        if hit:
            pins[kind] = hit[-1]
    if not pins:
        raise ConfigError(f"--as-of {choice!r}: no stored edition matches")
    return EditionSet(editions.editions, pins)
