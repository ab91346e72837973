"""The result of diffing two editions: what the reports render and the JSON holds.

Kinds of change, in the publisher's terms (a record's *status* is active
unless its termination date is on or before its edition's effective date):

- added: in the new edition only, and active there;
- deleted: active in the old edition, and terminated (`discontinued`) or
  absent (`removed`) in the new one;
- reactivated: terminated in the old edition, active again in the new one;
- changed: in both, same status, some compared field differs;
- interim: in the new edition only, already terminated there (added and
  ended between the two editions);
- purged: terminated in the old edition and no longer listed in the new one
  (CMS drops discontinued codes after four years);
- unchanged: everything else.

Every record that is in both editions and differs carries its field changes,
so the change set is a complete delta over the compared columns.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pipeline.diff.words import WordDiff

if TYPE_CHECKING:
    import polars as pl

    from pipeline.store.snapshots import Manifest

JSON_SCHEMA_VERSION = 1
KINDS = ("added", "deleted", "changed", "reactivated", "interim", "purged")
#: Kinds that describe a record present in both editions, with field changes.
PAIRED_KINDS = ("changed", "deleted", "reactivated")


@dataclass(frozen=True)
class EditionInfo:
    """One side of a cycle, as its manifest describes it."""

    version: str
    effective_date: date
    source_name: str
    source_member: str | None
    source_sha256: str
    source_note: str | None
    rows: int
    content_sha256: str

    @classmethod
    def from_manifest(cls, manifest: Manifest) -> EditionInfo:
        return cls(
            version=manifest.version,
            effective_date=manifest.effective_date,
            source_name=manifest.source.name,
            source_member=manifest.source.member,
            source_sha256=manifest.source.sha256,
            source_note=manifest.source.note,
            rows=manifest.rows,
            content_sha256=manifest.content_sha256,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "effective_date": self.effective_date.isoformat(),
            "source": {
                "name": self.source_name,
                "member": self.source_member,
                "sha256": self.source_sha256,
                "note": self.source_note,
            },
            "rows": self.rows,
            "content_sha256": self.content_sha256,
        }


@dataclass(frozen=True)
class FieldChange:
    """One field of one record, old -> new; descriptors also carry a word diff."""

    name: str
    old: Any
    new: Any
    words: WordDiff | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"old": jsonable(self.old), "new": jsonable(self.new)}
        if self.words is not None:
            out["words"] = {"removed": self.words.removed, "inserted": self.words.inserted}
        return out


@dataclass(frozen=True)
class UniformChange:
    """One field moving from the same old to the same new value on most records,
    e.g. the fee schedule's conversion factor: worth one line, not one row per code."""

    name: str
    old: Any
    new: Any
    records: int
    of: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.name,
            "old": jsonable(self.old),
            "new": jsonable(self.new),
            "records": self.records,
            "of": self.of,
        }


@dataclass(frozen=True)
class SchemaChange:
    """Columns that appeared, disappeared or changed type between the editions."""

    added: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    retyped: tuple[tuple[str, str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.dropped or self.retyped)

    def to_dict(self) -> dict[str, Any]:
        return {
            "added_columns": list(self.added),
            "dropped_columns": list(self.dropped),
            "retyped_columns": [{"name": n, "old": o, "new": w} for n, o, w in self.retyped],
        }


@dataclass(frozen=True)
class ChangeSet:
    """Everything that differs between two editions of one code set.

    Frames hold whole records (sorted by key); `fields` maps a record's key to
    its field changes for every paired kind (changed, discontinued, reactivated).
    """

    codeset: str
    title: str
    publisher: str
    old: EditionInfo
    new: EditionInfo
    key: tuple[str, ...]
    descriptors: tuple[str, ...]
    compared: tuple[str, ...]
    added: pl.DataFrame
    deleted: pl.DataFrame
    changed: pl.DataFrame
    reactivated: pl.DataFrame
    interim: pl.DataFrame
    purged: pl.DataFrame
    unchanged: int
    fields: Mapping[tuple[Any, ...], tuple[FieldChange, ...]]
    schema: SchemaChange = field(default_factory=SchemaChange)
    termination: str | None = None
    display: tuple[str, ...] = ()
    #: Field changes most paired records share (`uniform_changes`), computed once by the diff.
    uniform: tuple[UniformChange, ...] = ()
    #: The code set's kind (`pipeline.codesets`), for what depends on the publisher.
    kind: str = "generic"

    @property
    def counts(self) -> dict[str, int]:
        out = {kind: getattr(self, kind).height for kind in KINDS}
        out["unchanged"] = self.unchanged
        return out

    @property
    def is_empty(self) -> bool:
        return not any(getattr(self, kind).height for kind in KINDS) and not self.schema

    def key_of(self, record: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(record[k] for k in self.key)

    def key_label(self, record: Mapping[str, Any]) -> str:
        """`97140`, `97140 GP` (code and modifier), `97140 97530` (an edit pair)."""
        return " ".join(str(record[k]) for k in self.key if record[k] is not None)

    def records(self, kind: str) -> list[dict[str, Any]]:
        """The records of one kind as dicts, with their field changes where they have any."""
        return self.records_of(getattr(self, kind))

    def records_of(self, frame: pl.DataFrame) -> list[dict[str, Any]]:
        """Rows of one of this change set's frames as dicts, with their field changes."""
        out = []
        for row in frame.iter_rows(named=True):
            changes = self.fields.get(self.key_of(row))
            if changes:
                row["fields"] = changes
            out.append(row)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The whole change set as plain JSON-ready data (the JSON report's schema)."""
        return {
            "schema_version": JSON_SCHEMA_VERSION,
            "codeset": self.codeset,
            "title": self.title,
            "publisher": self.publisher,
            "from": self.old.to_dict(),
            "to": self.new.to_dict(),
            "key": list(self.key),
            "compared_columns": list(self.compared),
            "counts": self.counts,
            **{kind: [_record_dict(r) for r in self.records(kind)] for kind in KINDS},
            "uniform_changes": [u.to_dict() for u in self.uniform],
            "schema_changes": self.schema.to_dict(),
        }


def uniform_changes(
    fields: Mapping[tuple[Any, ...], tuple[FieldChange, ...]],
    unchanged: int,
    descriptors: Sequence[str],
    min_share: float = 0.5,
) -> tuple[UniformChange, ...]:
    """Field changes shared by at least `min_share` of the records in both editions."""
    paired = unchanged + len(fields)
    counts = Counter(
        (c.name, hashable(c.old), hashable(c.new))
        for changes in fields.values()
        for c in changes
        if c.name not in descriptors
    )
    return tuple(
        UniformChange(name, old, new, n, paired)
        for (name, old, new), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0]))
        if n >= 2 and n >= min_share * paired
    )


def _record_dict(record: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: jsonable(v) for k, v in record.items() if k != "fields"}
    if "fields" in record:
        out["fields"] = {c.name: c.to_dict() for c in record["fields"]}
    return out


def hashable(value: Any) -> Any:
    """A value usable in a set (lists become tuples)."""
    return tuple(value) if isinstance(value, list) else value


def jsonable(value: Any) -> Any:
    """Dates as ISO strings, decimals as exact strings; everything else as it is."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
