"""Report sections that stay readable at 100,000 changes.

A section shows the clinic's own codes in full and then the first rows up to a
cap; what it leaves out is written beside the report as CSV and Parquet and
linked, so nothing is lost and the page still opens quickly. The JSON report
is always complete.
"""

from __future__ import annotations

import io
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from pipeline.diff.changeset import ChangeSet, FieldChange, hashable
from pipeline.report.escape import csv_cells

RECORD_KINDS = ("added", "deleted", "reactivated", "interim", "purged")
FIELD_KINDS = ("descriptors", "other")


@dataclass(frozen=True)
class Section:
    """What one section shows: rows (records, or (record, change) pairs), out of a total."""

    kind: str
    rows: list[Any]
    total: int
    #: Full lists written beside the report when rows were left out (relative paths).
    files: tuple[str, ...] = ()

    @property
    def omitted(self) -> int:
        return self.total - len(self.rows)


def build_sections(
    cs: ChangeSet, watched: Collection[str], cap: int, stem: str
) -> dict[str, Section]:
    """Every section of a cycle report, each capped at `cap` rows besides the watched ones."""
    out: dict[str, Section] = {}
    for kind in RECORD_KINDS:
        frame = getattr(cs, kind)
        shown = _capped(frame, cs.key, watched, cap)
        files = _files(stem, kind) if shown.height < frame.height else ()
        out[kind] = Section(kind, cs.records_of(shown), frame.height, files)
    changed = _capped(cs.changed, cs.key, watched, cap)
    uniform = {(u.name, hashable(u.old), hashable(u.new)) for u in cs.uniform}
    totals = _field_totals(cs, uniform)
    pairs = _pairs(cs, cs.records_of(changed), uniform)
    for kind in FIELD_KINDS:
        rows = _cap_pairs(pairs[kind], cs.key[0], watched, cap)
        files = _files(stem, f"{kind}-changes") if len(rows) < totals[kind] else ()
        out[kind] = Section(kind, rows, totals[kind], files)
    return out


def full_lists(cs: ChangeSet, sections: dict[str, Section]) -> dict[str, bytes]:
    """The complete rows of every section that left rows out, as CSV and Parquet bytes."""
    out: dict[str, bytes] = {}
    for name, section in sections.items():
        if not section.files:
            continue
        frame = getattr(cs, name) if name in RECORD_KINDS else _field_frame(cs, name)
        csv_name, parquet_name = section.files
        out[csv_name] = csv_cells(frame).write_csv().encode("utf-8")
        buffer = io.BytesIO()
        frame.write_parquet(buffer, compression="zstd", statistics=True)
        out[parquet_name] = buffer.getvalue()
    return out


def _files(stem: str, name: str) -> tuple[str, str]:
    return f"{stem}/{name}.csv", f"{stem}/{name}.parquet"


def _capped(
    frame: pl.DataFrame, key: Sequence[str], watched: Collection[str], cap: int
) -> pl.DataFrame:
    """The watched rows, then the first others, up to `cap` others, in key order."""
    if frame.height <= cap:
        return frame
    mine = pl.col(key[0]).is_in(list(watched))
    return pl.concat([frame.filter(mine), frame.filter(~mine).head(cap)]).sort(list(key))


def _pairs(
    cs: ChangeSet, records: list[dict[str, Any]], uniform: set[tuple[Any, ...]]
) -> dict[str, list[tuple[dict[str, Any], FieldChange]]]:
    out: dict[str, list[tuple[dict[str, Any], FieldChange]]] = {k: [] for k in FIELD_KINDS}
    for record in records:
        for change in record.get("fields", ()):
            if change.name in cs.descriptors:
                out["descriptors"].append((record, change))
            elif (change.name, hashable(change.old), hashable(change.new)) not in uniform:
                out["other"].append((record, change))
    return out


def _cap_pairs(
    pairs: list[tuple[dict[str, Any], FieldChange]],
    column: str,
    watched: Collection[str],
    cap: int,
) -> list[tuple[dict[str, Any], FieldChange]]:
    if len(pairs) <= cap:
        return pairs
    mine = [p for p in pairs if p[0][column] in watched]
    others = [p for p in pairs if p[0][column] not in watched][:cap]
    keep = {id(p) for p in mine + others}
    return [p for p in pairs if id(p) in keep]


def _changed_keys(cs: ChangeSet) -> set[tuple[Any, ...]]:
    return set(cs.changed.select(cs.key).iter_rows())


def _field_totals(cs: ChangeSet, uniform: set[tuple[Any, ...]]) -> dict[str, int]:
    totals = dict.fromkeys(FIELD_KINDS, 0)
    for key in _changed_keys(cs):
        for change in cs.fields.get(key, ()):
            if change.name in cs.descriptors:
                totals["descriptors"] += 1
            elif (change.name, hashable(change.old), hashable(change.new)) not in uniform:
                totals["other"] += 1
    return totals


def _field_frame(cs: ChangeSet, kind: str) -> pl.DataFrame:
    """Field changes in long form: the key, the field, old and new (as text)."""
    uniform = {(u.name, hashable(u.old), hashable(u.new)) for u in cs.uniform}
    rows = []
    for key in sorted(_changed_keys(cs), key=lambda k: tuple(str(v) for v in k)):
        for change in cs.fields.get(key, ()):
            is_descriptor = change.name in cs.descriptors
            triple = (change.name, hashable(change.old), hashable(change.new))
            if (kind == "descriptors") == is_descriptor and (
                is_descriptor or triple not in uniform
            ):
                rows.append((*key, change.name, _text(change.old), _text(change.new)))
    columns = [*cs.key, "field", "old", "new"]
    return pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String), orient="row")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
