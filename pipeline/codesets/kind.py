"""A code-set kind: what the pipeline knows about one publisher's kind of list.

Each kind lives in its own package under `pipeline/codesets/` and exposes one
`KIND` object: its built-in code set, its file formats, its vocabulary (status
codes and what they mean), how it is verified against the publisher's own change
marks, its payment rules, its impact rules and where the publisher lists its
editions (its release feed). A configured code set declares its
kind; nothing elsewhere is chosen by a code set's id or by a column's name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from pipeline.errors import ConfigError, InputError
from pipeline.sources.feed import FeedKind
from pipeline.spec import CodeSetSpec

if TYPE_CHECKING:
    from pipeline.codesets.hcpcs.reconcile import Reconciliation
    from pipeline.codesets.pfs.payment import PaymentTable
    from pipeline.diff.changeset import ChangeSet
    from pipeline.impact.rules import Finder
    from pipeline.impact.watchlist import Watchlist
    from pipeline.store.snapshots import Snapshot


@dataclass(frozen=True)
class Format:
    """One file format of a kind: its reader, how to recognise it, its reader options."""

    name: str
    #: "module:function" reading a `RawSource` into a frame (imported only when used).
    reader: str
    #: "module:function" answering "is this file in my format?"; None: never detected.
    sniffer: str | None = None
    options: frozenset[str] = frozenset()
    #: Columns the reader delivers already checked: trimmed, never empty, and only
    #: upper-case letters and digits. Ingest neither trims them again nor checks their
    #: characters before packing them into a key (at 2.5 million rows, each pass counts).
    checked: tuple[str, ...] = ()


#: The columns the watchlist audit reads from an edition, by their role.
CATALOGUE_ROLES = ("code", "modifier", "label", "short", "status", "terminated", "xref")


@dataclass(frozen=True)
class Kind:
    """The generic kind: a keyed list whose rules are only those every code set shares."""

    name: ClassVar[str] = "generic"
    #: The built-in code set of this kind (None: every code set of it is configured).
    spec: CodeSetSpec | None = None
    formats: tuple[Format, ...] = ()
    #: Status code -> what it means, in words (the publisher's vocabulary).
    statuses: Mapping[str, str] = field(default_factory=dict)
    #: Statuses under which the publisher pays nothing for the code itself.
    not_paid: frozenset[str] = frozenset()
    #: Statuses of deleted codes.
    deleted: frozenset[str] = frozenset()
    #: Diagnosis codes are never billed as procedures (and are written with a dot).
    diagnosis: bool = False
    #: Codes of this kind are pairs (NCCI): the audit has no single code to check.
    paired: bool = False
    #: Where the publisher lists this kind's editions (`[codesets.X.feed]`), if known.
    feed: FeedKind | None = None

    def catalogue_columns(self, spec: CodeSetSpec) -> dict[str, str] | None:
        """Role -> column for the watchlist audit; None when the kind has no single code."""
        if self.paired or len(spec.key) != 1:
            return None
        roles = {"code": spec.key[0], "xref": "cross_reference"}
        roles.update(zip(("label", "short"), spec.descriptors, strict=False))
        if spec.termination:
            roles["terminated"] = spec.termination
        return roles

    def infer_effective(self, version: str, source_name: str = "") -> date | None:
        """The date a label such as `2020` or `2026Q3`, or a file named `..._Eff_10-01-2026...`,
        implies (None: give --effective)."""
        if match := re.fullmatch(r"(\d{4})(?:Q([1-4]))?", version.upper()):
            return label_date(int(match[1]), 3 * int(match[2] or 1) - 2, 1, version)
        return effective_in_name(source_name)

    def verify(self, cs: ChangeSet, old: Snapshot, new: Snapshot) -> Reconciliation | None:
        """The cycle checked against the publisher's own change marks, where it has them."""
        return None

    def payment(self, old: Snapshot, new: Snapshot, watchlist: Watchlist) -> PaymentTable | None:
        """What the cycle does to the clinic's payment, where the kind carries payment."""
        return None

    def assess(self, finder: Finder, payment: PaymentTable | None) -> None:
        """Add the kind's items for the clinic to `finder`."""
        finder.codes()

    def unit_payment(self, record: Mapping[str, Any]) -> tuple[Decimal, Decimal] | None:
        """A record's national payment a unit, non-facility and facility, where the kind
        carries payment (None: it does not, or the status says nothing is paid)."""
        return None


#: Years a label or a file name may imply: anything else is a typing error, not an edition.
YEARS = range(1900, 2200)


def label_date(year: int, month: int, day: int, version: str) -> date:
    """The date a version label implies; a label such as `0000` or `FY0000` implies none."""
    if year not in YEARS:
        raise ConfigError(
            f"version label {version!r} implies the year {year}, which is no edition's: "
            "give --effective YYYY-MM-DD, or correct the label"
        )
    return date(year, month, day)


def effective_in_name(source_name: str) -> date | None:
    """`..._Eff_10-01-2026...` (CMS's NCCI and MUE file names) -> 2026-10-01. A name whose
    date is no month-day-year date (`Eff_31-12-2026`) is an error, never a guess: it is
    checked even when `--effective` gives the date."""
    match = re.search(r"Eff_(\d{2})-(\d{2})-(\d{4})", source_name, re.IGNORECASE)
    if match is None:
        return None
    month, day, year = int(match[1]), int(match[2]), int(match[3])
    try:
        if year not in YEARS:
            raise ValueError(year)
        return date(year, month, day)
    except ValueError:
        raise InputError(
            source_name,
            f"the file name's date {match[0]!r} is not a month-day-year date "
            "(Eff_MM-DD-YYYY): rename the file, or check that it is the release you meant",
        ) from None
