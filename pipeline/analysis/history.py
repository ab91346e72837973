"""A code's timeline across every stored edition: added, changed, discontinued, back again.

Reads only the rows of that code from each snapshot (a lazy scan with the
filter pushed down to the parquet reader), so years of large editions can be
queried without loading them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl

from pipeline.codesets import kind_of
from pipeline.config.load import Config
from pipeline.diff.changeset import jsonable
from pipeline.diff.engine import active
from pipeline.spec import CodeSetSpec
from pipeline.store.snapshots import Snapshot, Store


@dataclass(frozen=True)
class Event:
    """Something that happened to the code, as of one edition (the report writes the words)."""

    version: str
    effective_date: date | None
    #: "added" (the publisher's add date), "present" (first listed), "unchanged", "changed",
    #: "discontinued",
    #: "reactivated" or "dropped" (no longer listed).
    kind: str
    #: The termination date, for a code discontinued or listed already terminated.
    terminated: date | None = None
    #: For "changed": each compared field that differs, as (field, old, new).
    changes: tuple[tuple[str, Any, Any], ...] = ()
    #: The record as of this edition: its description and status (where the kind has one).
    descriptor: str | None = None
    status: str | None = None
    #: National payment a unit, non-facility and facility (where the kind carries payment).
    payment: Decimal | None = None
    facility: Decimal | None = None
    #: The edition before this one: with it, the cycle report that carries this event.
    previous: str | None = None

    @property
    def cycle(self) -> str | None:
        """The stem of the cycle report that carries this event (`RVU24C_to_RVU25A`)."""
        return f"{self.previous}_to_{self.version}" if self.previous and self.version else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "effective_date": jsonable(self.effective_date),
            "kind": self.kind,
            "terminated": jsonable(self.terminated),
            "changes": [
                {"field": f, "old": jsonable(o), "new": jsonable(n)} for f, o, n in self.changes
            ],
            "descriptor": self.descriptor,
            "status": self.status,
            "payment": jsonable(self.payment),
            "facility_payment": jsonable(self.facility),
            "cycle": self.cycle,
        }


@dataclass(frozen=True)
class Timeline:
    """One record's story in one code set (a code, or a code and modifier)."""

    codeset: str
    title: str
    key: str
    events: tuple[Event, ...]
    #: The code set's kind (ICD-10-CM codes are shown with their dot).
    kind: str = "generic"

    def to_dict(self) -> dict[str, Any]:
        return {
            "codeset": self.codeset,
            "title": self.title,
            "key": self.key,
            "events": [e.to_dict() for e in self.events],
        }


def histories(
    store: Store, config: Config, codes: Iterable[str], codesets: Sequence[str] | None = None
) -> dict[str, list[Timeline]]:
    """Timelines of many codes at once: each snapshot is scanned once, for those codes only."""
    wanted = sorted(set(codes))
    sets = (
        list(codesets) if codesets is not None else sorted({m.codeset for m in store.manifests()})
    )
    out: dict[str, list[Timeline]] = {}
    for cid in sets:
        spec = config.codeset(cid)
        rows = [(s, _rows(s, spec, wanted)) for s in store.snapshots(cid)]
        keys = sorted(
            {tuple(r[k] for k in spec.key) for _, found in rows for r in found},
            key=lambda k: tuple("" if v is None else str(v) for v in k),
        )
        for key in keys:
            out.setdefault(str(key[0]), []).append(_timeline(spec, key, rows))
    return out


def _rows(snapshot: Snapshot, spec: CodeSetSpec, codes: list[str]) -> list[dict[str, Any]]:
    """The rows of `codes` in one edition, each with whether it is active there."""
    names = [name for name, _ in snapshot.manifest.columns]
    flag = active(spec.termination, names, snapshot.manifest.effective_date).alias(ACTIVE)
    with snapshot.reading():
        scan = pl.scan_parquet(snapshot.data_path).filter(pl.col(spec.key[0]).is_in(codes))
        return scan.with_columns(flag).collect().to_dicts()


ACTIVE = "__active"


def _timeline(
    spec: CodeSetSpec, key: tuple[Any, ...], rows: Sequence[tuple[Snapshot, list[dict[str, Any]]]]
) -> Timeline:
    label = " ".join(str(v) for v in key if v is not None)
    events: list[Event] = []
    previous: dict[str, Any] | None = None
    was_active = False
    before: str | None = None  # the edition before this one: consecutive editions
    for snapshot, found in rows:
        m = snapshot.manifest
        record = next((r for r in found if tuple(r[k] for k in spec.key) == key), None)
        link: dict[str, Any] = {"previous": before}
        before = m.version
        if record is None:
            if previous is not None:
                events.append(Event(m.version, m.effective_date, "dropped", **link))
            previous, was_active = None, False
            continue
        state: dict[str, Any] = {**_state(spec, record), **link}
        is_active = bool(record[ACTIVE])
        ended = record.get(spec.termination) if spec.termination else None
        if previous is None:
            if not events and record.get("add_date"):
                events.append(Event("", record["add_date"], "added"))
            events.append(
                Event(m.version, m.effective_date, "present", None if is_active else ended, **state)
            )
        elif was_active and not is_active:
            events.append(Event(m.version, m.effective_date, "discontinued", ended, **state))
        elif not was_active and is_active:
            events.append(Event(m.version, m.effective_date, "reactivated", **state))
        else:
            changes = _changes(spec, previous, record)
            kind = "changed" if changes else "unchanged"
            events.append(Event(m.version, m.effective_date, kind, changes=changes, **state))
        previous, was_active = record, is_active
    return Timeline(
        codeset=spec.id, title=spec.title, key=label, events=tuple(events), kind=spec.kind
    )


def _state(spec: CodeSetSpec, record: dict[str, Any]) -> dict[str, Any]:
    """The record's description, status and national payment a unit, as of its edition."""
    kind = kind_of(spec)
    roles = kind.catalogue_columns(spec) or {}
    descriptor = next((record[c] for c in spec.descriptors if record.get(c)), None)
    paid = kind.unit_payment(record)
    return {
        "descriptor": descriptor,
        "status": record.get(roles["status"]) if "status" in roles else None,
        "payment": paid[0] if paid else None,
        "facility": paid[1] if paid else None,
    }


def _changes(
    spec: CodeSetSpec, old: dict[str, Any], new: dict[str, Any]
) -> tuple[tuple[str, Any, Any], ...]:
    columns = spec.compared_columns([c for c in new if c in old and c != ACTIVE])
    return tuple((c, old[c], new[c]) for c in columns if old[c] != new[c])
