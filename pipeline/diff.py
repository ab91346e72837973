"""The diff engine: two editions of a code set in, a `ChangeSet` out.

Polars does the finding (one full join on the key, column comparisons as
expressions); deepdiff then details only the records that differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import polars as pl

from pipeline.changeset import ChangeSet, EditionInfo, FieldChange, SchemaChange
from pipeline.config import CodeSetSpec
from pipeline.errors import PipelineError
from pipeline.store import Snapshot
from pipeline.words import word_diff

_IN_OLD, _IN_NEW = "__in_old", "__in_new"
_ACTIVE_OLD, _ACTIVE_NEW = "__active_old", "__active_new"
_KIND, _DIFFERS = "__kind", "__differs"
_SUFFIX = "__new"


def diff_snapshots(old: Snapshot, new: Snapshot, spec: CodeSetSpec) -> ChangeSet:
    """Diff two stored editions of the code set `spec` describes."""
    return diff(
        old.frame(),
        new.frame(),
        spec,
        old_info=EditionInfo.from_manifest(old.manifest),
        new_info=EditionInfo.from_manifest(new.manifest),
    )


def diff(
    old: pl.DataFrame,
    new: pl.DataFrame,
    spec: CodeSetSpec,
    *,
    old_info: EditionInfo,
    new_info: EditionInfo,
) -> ChangeSet:
    """Compare two editions (frames with the spec's key columns) and classify every record."""
    key = list(spec.key)
    for side, frame in (("old", old), ("new", new)):
        missing = [k for k in key if k not in frame.columns]
        if missing:
            raise PipelineError(
                f"{spec.id}: {side} edition lacks key column(s) {', '.join(missing)}"
            )
    schema = _schema_change(old, new)
    common = [c for c in old.columns if c in new.columns]
    compared = [c for c in spec.compared_columns(common) if c not in key]
    retyped = {name for name, _, _ in schema.retyped}

    def prepare(frame: pl.DataFrame, effective: date, present: str, active: str) -> pl.DataFrame:
        cols = [pl.col(c).cast(pl.String) if c in retyped else pl.col(c) for c in compared]
        return frame.select(
            *key, *cols, pl.lit(True).alias(present), _active(spec, frame, effective).alias(active)
        )

    joined = prepare(old, old_info.effective_date, _IN_OLD, _ACTIVE_OLD).join(
        prepare(new, new_info.effective_date, _IN_NEW, _ACTIVE_NEW),
        on=key,
        how="full",
        coalesce=True,
        validate="1:1",
        suffix=_SUFFIX,
        nulls_equal=True,  # a blank modifier is part of the key (fee schedule: code + modifier)
    )
    differs = pl.any_horizontal(
        [pl.col(c).ne_missing(pl.col(c + _SUFFIX)) for c in compared] or [pl.lit(False)]
    )
    in_old = pl.col(_IN_OLD).fill_null(False)
    in_new = pl.col(_IN_NEW).fill_null(False)
    act_old, act_new = pl.col(_ACTIVE_OLD), pl.col(_ACTIVE_NEW)
    kind = (
        pl.when(~in_new)
        .then(pl.when(act_old).then(pl.lit("deleted")).otherwise(pl.lit("purged")))
        .when(~in_old)
        .then(pl.when(act_new).then(pl.lit("added")).otherwise(pl.lit("interim")))
        .when(act_old & ~act_new)
        .then(pl.lit("deleted"))
        .when(~act_old & act_new)
        .then(pl.lit("reactivated"))
        .when(pl.col(_DIFFERS))
        .then(pl.lit("changed"))
        .otherwise(pl.lit("unchanged"))
    )
    classified = (
        joined.with_columns(differs.alias(_DIFFERS))
        .with_columns(kind.alias(_KIND))
        .select(*key, _KIND, _DIFFERS, _IN_OLD, _IN_NEW)
    )
    kinds = classified.filter(pl.col(_KIND) != "unchanged")

    def records(frame: pl.DataFrame, wanted: pl.Expr) -> pl.DataFrame:
        keys = kinds.filter(wanted).select(key)
        return frame.join(keys, on=key, how="semi", nulls_equal=True).sort(key)

    is_kind = pl.col(_KIND).is_in
    both = pl.col(_IN_OLD).fill_null(False) & pl.col(_IN_NEW).fill_null(False)
    discontinued = records(new, (pl.col(_KIND) == "deleted") & both).with_columns(
        pl.lit("discontinued").alias("reason")
    )
    removed = records(old, (pl.col(_KIND) == "deleted") & ~both).with_columns(
        pl.lit("removed").alias("reason")
    )
    deleted = pl.concat([discontinued, removed], how="diagonal_relaxed").sort(key)
    paired = kinds.filter(both & is_kind(["changed", "deleted", "reactivated"]))
    return ChangeSet(
        codeset=spec.id,
        title=spec.title,
        publisher=spec.publisher,
        old=old_info,
        new=new_info,
        key=tuple(key),
        descriptors=tuple(d for d in spec.descriptors if d in compared),
        compared=tuple(compared),
        added=records(new, pl.col(_KIND) == "added"),
        deleted=deleted,
        changed=records(new, pl.col(_KIND) == "changed"),
        reactivated=records(new, pl.col(_KIND) == "reactivated"),
        interim=records(new, pl.col(_KIND) == "interim"),
        purged=records(old, pl.col(_KIND) == "purged"),
        unchanged=classified.height - kinds.height,
        fields=_field_changes(old, new, paired.select(key), key, compared, spec.descriptors),
        schema=schema,
        termination=spec.termination if spec.termination in common else None,
        display=tuple(c for c in (spec.display or spec.descriptors) if c in common),
    )


def _active(spec: CodeSetSpec, frame: pl.DataFrame, effective: date) -> pl.Expr:
    """A record is active unless terminated on or before its edition's effective date."""
    column = spec.termination
    if column is None or column not in frame.columns:
        return pl.lit(True)
    return pl.col(column).is_null() | (pl.col(column) > pl.lit(effective))


def _schema_change(old: pl.DataFrame, new: pl.DataFrame) -> SchemaChange:
    return SchemaChange(
        added=tuple(c for c in new.columns if c not in old.columns),
        dropped=tuple(c for c in old.columns if c not in new.columns),
        retyped=tuple(
            (c, str(old.schema[c]), str(new.schema[c]))
            for c in old.columns
            if c in new.columns and old.schema[c] != new.schema[c]
        ),
    )


def _field_changes(
    old: pl.DataFrame,
    new: pl.DataFrame,
    keys: pl.DataFrame,
    key: Sequence[str],
    compared: Sequence[str],
    descriptors: Sequence[str],
) -> dict[tuple[Any, ...], tuple[FieldChange, ...]]:
    """Field-by-field detail for the (few) records that differ, via deepdiff."""
    if not keys.height or not compared:
        return {}
    from deepdiff import DeepDiff

    cols = [*key, *compared]
    before = old.join(keys, on=key, how="semi", nulls_equal=True).select(cols).sort(key)
    after = new.join(keys, on=key, how="semi", nulls_equal=True).select(cols).sort(key)
    out: dict[tuple[Any, ...], tuple[FieldChange, ...]] = {}
    for a, b in zip(before.iter_rows(named=True), after.iter_rows(named=True), strict=True):
        record_key = tuple(b[k] for k in key)
        delta = DeepDiff(a, b, verbose_level=2)
        names = sorted(
            {
                path.split("'")[1]
                for section in ("values_changed", "type_changes")
                for path in delta.get(section, {})
            },
            key=compared.index,
        )
        changes = tuple(
            FieldChange(
                name=name,
                old=a[name],
                new=b[name],
                words=word_diff(a[name], b[name]) if name in descriptors else None,
            )
            for name in names
        )
        if changes:
            out[record_key] = changes
    return out
