"""A code's timeline across every stored edition: added, changed, discontinued, back again.

Reads only the rows of that code from each snapshot (a lazy scan with the
filter pushed down to the parquet reader), so years of large editions can be
queried without loading them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from pipeline.config.load import CodeSetSpec, Config
from pipeline.diff.changeset import jsonable
from pipeline.report.render import value
from pipeline.store.snapshots import Snapshot, Store


@dataclass(frozen=True)
class Event:
    """Something that happened to the code, as of one edition."""

    version: str
    effective_date: date | None
    kind: str  # "added", "present", "changed", "discontinued", "reactivated", "dropped"
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {k: jsonable(v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class Timeline:
    """One record's story in one code set (a code, or a code and modifier)."""

    codeset: str
    title: str
    key: str
    events: tuple[Event, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "codeset": self.codeset,
            "title": self.title,
            "key": self.key,
            "events": [e.to_dict() for e in self.events],
        }


def history(store: Store, config: Config, code: str, codeset: str | None = None) -> list[Timeline]:
    """Every timeline of `code` in the store (or in one code set)."""
    return histories(store, config, [code], codeset).get(code, [])


def histories(
    store: Store, config: Config, codes: Iterable[str], codeset: str | None = None
) -> dict[str, list[Timeline]]:
    """Timelines of many codes at once: each snapshot is scanned once, for those codes only."""
    wanted = sorted(set(codes))
    sets = [codeset] if codeset else sorted({m.codeset for m in store.manifests()})
    out: dict[str, list[Timeline]] = {}
    for cid in sets:
        spec = config.codeset(cid)
        column = spec.key[0]
        rows = [(s, _rows(s, column, wanted)) for s in store.snapshots(cid)]
        keys = sorted(
            {tuple(r[k] for k in spec.key) for _, found in rows for r in found},
            key=lambda k: tuple("" if v is None else str(v) for v in k),
        )
        for key in keys:
            out.setdefault(str(key[0]), []).append(_timeline(spec, key, rows))
    return out


def _rows(snapshot: Snapshot, column: str, codes: list[str]) -> list[dict[str, Any]]:
    scan = pl.scan_parquet(snapshot.data_path).filter(pl.col(column).is_in(codes))
    return scan.collect().to_dicts()


def _timeline(
    spec: CodeSetSpec, key: tuple[Any, ...], rows: Sequence[tuple[Snapshot, list[dict[str, Any]]]]
) -> Timeline:
    label = " ".join(str(v) for v in key if v is not None)
    events: list[Event] = []
    previous: dict[str, Any] | None = None
    was_active = False
    for snapshot, found in rows:
        m = snapshot.manifest
        record = next((r for r in found if tuple(r[k] for k in spec.key) == key), None)
        if record is None:
            if previous is not None:
                events.append(Event(m.version, m.effective_date, "dropped", "no longer listed"))
            previous, was_active = None, False
            continue
        active = _active(spec, record, m.effective_date)
        ended = record.get(spec.termination) if spec.termination else None
        if previous is None:
            if not events and record.get("add_date"):
                events.append(
                    Event(
                        "",
                        record["add_date"],
                        "added",
                        f"added {record['add_date']} (publisher's add date)",
                    )
                )
            state = "listed" if active else f"listed, already terminated {ended}"
            events.append(Event(m.version, m.effective_date, "present", state))
        elif was_active and not active:
            events.append(
                Event(
                    m.version, m.effective_date, "discontinued", f"discontinued: terminated {ended}"
                )
            )
        elif not was_active and active:
            events.append(Event(m.version, m.effective_date, "reactivated", "active again"))
        else:
            changes = _changes(spec, previous, record)
            kind = "changed" if changes else "present"
            events.append(Event(m.version, m.effective_date, kind, changes or "unchanged"))
        previous, was_active = record, active
    return Timeline(codeset=spec.id, title=spec.title, key=label, events=tuple(events))


def _active(spec: CodeSetSpec, record: dict[str, Any], effective: date) -> bool:
    if spec.termination is None or record.get(spec.termination) is None:
        return True
    return bool(record[spec.termination] > effective)


def _changes(spec: CodeSetSpec, old: dict[str, Any], new: dict[str, Any]) -> str:
    columns = spec.compared_columns([c for c in new if c in old])
    parts = [
        f"{c.replace('_', ' ')}: {value(old[c])} → {value(new[c])}"
        for c in columns
        if old[c] != new[c]
    ]
    return "; ".join(parts)
