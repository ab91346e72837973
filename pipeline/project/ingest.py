"""Ingest: one release file in, one stored snapshot out (or a no-op if already stored)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from pipeline.codesets.reading import SourceData, read_source
from pipeline.errors import StoreError
from pipeline.project.guard import check_mass_change
from pipeline.sources.base import regular_file
from pipeline.spec import CodeSetSpec, GuardLimits, check_name
from pipeline.store.snapshots import PutResult, Snapshot, SourceInfo, Store, file_digest


@dataclass(frozen=True)
class IngestResult:
    status: Literal["stored", "unchanged"]
    snapshot: Snapshot
    reader: str | None

    @property
    def message(self) -> str:
        m = self.snapshot.manifest
        if self.status == "unchanged":
            return f"{m.codeset} {m.version}: already stored, identical content ({m.rows:,} rows)"
        return (
            f"{m.codeset} {m.version}: stored {m.rows:,} rows from {m.source.name}"
            f"{f'!{m.source.member}' if m.source.member else ''}"
            f" (reader {self.reader}, content {m.content_sha256[:12]})"
        )


def ingest(
    store: Store,
    spec: CodeSetSpec,
    source: Path,
    version: str,
    effective: date,
    note: str | None = None,
    *,
    allow_mass_change: bool = False,
) -> IngestResult:
    """Read `source` with the code set's reader and store it as `spec.id/version`.

    If the same file was already stored under this label the file is not even
    parsed: a scheduled run that finds nothing new costs a hash per file. An
    edition that shrinks or deletes past the code set's guard limits is refused
    unless `allow_mass_change`.
    """
    check_name(version, "version label")
    regular_file(source, "release file")
    if store.has(spec.id, version):
        existing = store.get(spec.id, version)
        check_identity(store, spec, existing, source, effective)
        if existing.manifest.source.sha256 == file_digest(source):
            return IngestResult("unchanged", existing, existing.manifest.source.reader)
    data = read_source(source, spec.reader, spec.key, formats=spec.formats)
    if not allow_mass_change and not store.has(spec.id, version):
        previous = [
            s
            for s in store.snapshots(spec.id)
            if s.manifest.effective_date < effective and s.manifest.version != version
        ]
        last = previous[-1] if previous else None
        if not _clearly_within(last, data, spec.guard):
            check_mass_change(
                last, data.frame, spec.key, spec.guard, f"{spec.id} {version} ({data.raw.name})"
            )
    info = SourceInfo(
        name=source.name,
        sha256=data.raw.sha256,
        bytes=data.raw.size,
        member=data.raw.member,
        reader=data.reader,
        note=note,
    )
    put: PutResult = store.put(
        spec.id, version, effective, data.frame, spec.key, info, keys=data.keys
    )
    return IngestResult(put.status, put.snapshot, data.reader)


def _clearly_within(previous: Snapshot | None, data: SourceData, limits: GuardLimits) -> bool:
    """Whether the mass-change guard would pass, counted on packed keys.

    The guard anti-joins the editions on their text keys: a second per NCCI-sized edition.
    When both editions' keys are packed alike, the same count is a merge of two sorted
    integer columns; anything near a limit (or not countable so) goes to the guard itself,
    which decides and explains.
    """
    import polars as pl

    from pipeline.store.snapshots import KEY_COLUMN

    if previous is None or data.keys is None or not data.frame.height:
        return False
    old_keys = previous.packed_keys(data.keys.packing)
    if old_keys is None or not previous.manifest.rows:
        return False
    new = pl.DataFrame({KEY_COLUMN: data.keys.values.set_sorted(), "__kept": True})
    kept = pl.DataFrame({KEY_COLUMN: old_keys}).join(new, on=KEY_COLUMN, how="left")
    before = previous.manifest.rows
    deleted = kept["__kept"].null_count()
    shrink = (before - data.frame.height) / before
    return shrink <= limits.max_shrink and deleted / before <= limits.max_deleted


def check_identity(
    store: Store, spec: CodeSetSpec, existing: Snapshot, source: Path, effective: date
) -> None:
    """Refuse a configuration that now describes a stored edition differently.

    A stored edition is immutable: its effective date, its source file and its reader are
    what it is. Quietly keeping the old one would report cycles the configuration no
    longer says; quietly replacing it would rewrite history.
    """
    m = existing.manifest
    changes = []
    if m.effective_date != effective:
        changes.append(f"effective date {m.effective_date} -> {effective}")
    if m.source.name != source.name:
        changes.append(f"source {m.source.name} -> {source.name}")
    fmt = spec.reader.format
    if fmt != "auto" and m.source.reader is not None and m.source.reader != fmt:
        changes.append(f"reader {m.source.reader} -> {fmt}")
    if changes:
        raise StoreError(
            f"{spec.id} {m.version} is stored, and is now described "
            f"differently ({'; '.join(changes)}): a stored edition never changes. To make "
            f"this change on purpose, delete {store.location(spec.id, m.version)} and run "
            "again (its cycles are reported anew), or store it under a new version label"
        )
