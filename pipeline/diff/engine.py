"""The diff engine: two editions of a code set in, a `ChangeSet` out.

Polars does the finding. Each record is reduced to two integers, its packed key
(`pipeline.keys`) and a hash of its compared columns; both editions sorted by key are
aligned by a merge join on the key, and only records whose hash differs have their
columns compared. Large snapshots store both integers (`pipeline.store`), so a diff
reads them instead of computing them. Field-level detail is computed for the few
records that differ only, by polars where its comparison is deepdiff's, by deepdiff
otherwise (see `pipeline.fields`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl

from pipeline.diff.changeset import ChangeSet, EditionInfo, SchemaChange, uniform_changes
from pipeline.diff.fields import field_changes
from pipeline.errors import DiffError, PipelineError
from pipeline.spec import CodeSetSpec
from pipeline.store.keys import KeyPacking, choose, row_hash
from pipeline.store.snapshots import HASH_COLUMN, KEY_COLUMN, IndexInfo, Snapshot, row_hash_version

_ROW, _ACTIVE = "__row", "__active"
_OLD, _NEW = "__old", "__new"
#: Hash seeds tried for keys that do not pack before giving up on a collision.
_SEEDS = 8


@dataclass(frozen=True)
class _Side:
    """One edition as the engine sees it: its records and, row for row, key, hash, status."""

    frame: pl.DataFrame
    keys: pl.Series
    hashes: pl.Series
    active: pl.Series


def diff_snapshots(old: Snapshot, new: Snapshot, spec: CodeSetSpec) -> ChangeSet:
    """Diff two stored editions of the code set `spec` describes."""
    old_frame, old_index = old.read()
    new_frame, new_index = new.read()
    stored = None
    if old_index is not None and new_index is not None:
        stored = (old_index, old.manifest.index, new_index, new.manifest.index)
    return _diff(
        old_frame,
        new_frame,
        spec,
        EditionInfo.from_manifest(old.manifest),
        EditionInfo.from_manifest(new.manifest),
        stored,
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
    return _diff(old, new, spec, old_info, new_info, None)


_Stored = tuple[pl.DataFrame, IndexInfo | None, pl.DataFrame, IndexInfo | None]


def _diff(
    old: pl.DataFrame,
    new: pl.DataFrame,
    spec: CodeSetSpec,
    old_info: EditionInfo,
    new_info: EditionInfo,
    stored: _Stored | None,
) -> ChangeSet:
    key = list(spec.key)
    cycle = f"{spec.id} {old_info.version} -> {new_info.version}"
    for side, frame in (("old", old), ("new", new)):
        missing = [k for k in key if k not in frame.columns]
        if missing:
            raise DiffError(f"{cycle}: the {side} edition lacks key column(s) {', '.join(missing)}")
        retyped_keys = [k for k in key if old.schema.get(k) != new.schema.get(k)]
        if retyped_keys:
            k = retyped_keys[0]
            raise DiffError(
                f"{cycle}: key column {k!r} is {old.schema[k]} in {old_info.version} but "
                f"{new.schema[k]} in {new_info.version}; re-ingest both with the same reader types"
            )
    schema = _schema_change(old, new)
    common = [c for c in old.columns if c in new.columns]
    compared = [c for c in spec.compared_columns(common) if c not in key]
    retyped = {name for name, _, _ in schema.retyped}
    # Retyped columns compare as text, so that `1` and "1" are the same value.
    values = [pl.col(c).cast(pl.String) if c in retyped else pl.col(c) for c in compared]
    packing, old_keys, new_keys = _keys(old, new, key, stored)
    # Editions stored sorted by key (every snapshot is) need no sorting of what is taken
    # from them: ascending row numbers are key order.
    in_order = packing.ordered and old_keys.is_sorted() and new_keys.is_sorted()
    old_hashes, new_hashes = _hashes(old, new, compared, values, retyped, stored)
    a = _Side(old, old_keys, old_hashes, _active(spec, old, old_info.effective_date))
    b = _Side(new, new_keys, new_hashes, _active(spec, new, new_info.effective_date))
    aligned = _align(a, b, key)
    pairs, old_only, new_only = aligned.pairs, aligned.old_only, aligned.new_only

    was, now = pl.col(f"{_ACTIVE}{_OLD}"), pl.col(f"{_ACTIVE}{_NEW}")
    rehashed = pl.col(f"{HASH_COLUMN}{_OLD}") != pl.col(f"{HASH_COLUMN}{_NEW}")
    # Equal hashes are taken as equal records; differing ones are checked column by column.
    candidates = pairs.filter((was == now) & rehashed)
    changed = candidates.filter(_differs(old, new, candidates, compared, values))
    ended = pairs.filter(was & ~now)
    resumed = pairs.filter(~was & now)

    def rows(frame: pl.DataFrame, index: pl.Series) -> pl.DataFrame:
        if in_order:
            return frame[index.sort()]
        return frame[index].sort(key, nulls_last=False)

    gone = old_only.filter(pl.col(_ACTIVE))
    fresh = new_only.filter(pl.col(_ACTIVE))
    discontinued = rows(new, ended[f"{_ROW}{_NEW}"]).with_columns(
        pl.lit("discontinued").alias("reason")
    )
    removed = rows(old, gone[_ROW]).with_columns(pl.lit("removed").alias("reason"))
    deleted = pl.concat([discontinued, removed], how="diagonal_relaxed").sort(key)
    paired = pl.concat([changed, ended, resumed]).sort(f"{_ROW}{_OLD}")
    fields = field_changes(
        old[paired[f"{_ROW}{_OLD}"]],
        new[paired[f"{_ROW}{_NEW}"]],
        key,
        compared,
        spec.descriptors,
        in_key_order=in_order,
    )
    unchanged = aligned.paired - changed.height - ended.height - resumed.height
    descriptors = tuple(d for d in spec.descriptors if d in compared)
    return ChangeSet(
        codeset=spec.id,
        kind=spec.kind,
        title=spec.title,
        publisher=spec.publisher,
        old=old_info,
        new=new_info,
        key=tuple(key),
        descriptors=descriptors,
        compared=tuple(compared),
        added=rows(new, fresh[_ROW]),
        deleted=deleted,
        changed=rows(new, changed[f"{_ROW}{_NEW}"]),
        reactivated=rows(new, resumed[f"{_ROW}{_NEW}"]),
        interim=rows(new, new_only.filter(~pl.col(_ACTIVE))[_ROW]),
        purged=rows(old, old_only.filter(~pl.col(_ACTIVE))[_ROW]),
        unchanged=unchanged,
        fields=fields,
        schema=schema,
        termination=spec.termination if spec.termination in common else None,
        display=tuple(c for c in (spec.display or spec.descriptors) if c in common),
        uniform=uniform_changes(fields, unchanged, descriptors),
    )


def _keys(
    old: pl.DataFrame, new: pl.DataFrame, key: list[str], stored: _Stored | None
) -> tuple[KeyPacking, pl.Series, pl.Series]:
    """Both editions' packed keys: stored ones when both snapshots packed them alike."""
    if stored is not None:
        old_index, old_info, new_index, new_info = stored
        if old_info and new_info and old_info.key == new_info.key:
            packing = KeyPacking.parse(old_info.key)
            if packing is not None and packing.ordered:
                return packing, old_index[KEY_COLUMN], new_index[KEY_COLUMN]
    packing = choose([old, new], key)
    for _ in range(_SEEDS):
        old_keys = old.select(packing.expr(key)).to_series()
        new_keys = new.select(packing.expr(key)).to_series()
        if packing.ordered or not _collides(old, new, old_keys, new_keys, key):
            return packing, old_keys, new_keys
        packing = packing.reseeded()
    raise PipelineError(f"key hashes collide under {_SEEDS} seeds; cannot align editions")


def _collides(
    old: pl.DataFrame, new: pl.DataFrame, old_keys: pl.Series, new_keys: pl.Series, key: list[str]
) -> bool:
    """Whether two different keys share a hash, within an edition or across the two."""
    for frame, keys in ((old, old_keys), (new, new_keys)):
        if keys.n_unique() != frame.height:
            # Either a true duplicate key (reported by `_align`) or a collision.
            if frame.select(pl.struct(key).n_unique()).item() == keys.n_unique():
                continue
            return True
    matched = (
        old.select(key)
        .with_columns(old_keys.alias(KEY_COLUMN))
        .join(new.select(key).with_columns(new_keys.alias(KEY_COLUMN)), on=KEY_COLUMN)
    )
    same = [pl.col(k).eq_missing(pl.col(f"{k}_right")) for k in key]
    return not matched.select(pl.all_horizontal(same).all()).item()


def _hashes(
    old: pl.DataFrame,
    new: pl.DataFrame,
    compared: list[str],
    values: list[pl.Expr],
    retyped: set[str],
    stored: _Stored | None,
) -> tuple[pl.Series, pl.Series]:
    """Both editions' row hashes over the compared columns: stored ones when they fit."""
    if stored is not None and not retyped:
        old_index, old_info, new_index, new_info = stored
        usable = [
            info is not None
            and info.row_hash == row_hash_version()
            and list(info.hashed) == compared
            for info in (old_info, new_info)
        ]
        if all(usable):
            return old_index[HASH_COLUMN], new_index[HASH_COLUMN]
    return old.select(row_hash(values)).to_series(), new.select(row_hash(values)).to_series()


@dataclass(frozen=True)
class _Aligned:
    """The editions' records paired by key, by row number."""

    #: Records in both editions whose status or hash differs (the rest are unchanged).
    pairs: pl.DataFrame
    #: How many records are in both editions.
    paired: int
    old_only: pl.DataFrame
    new_only: pl.DataFrame


def _align(a: _Side, b: _Side, key: list[str]) -> _Aligned:
    """Pair the editions' records by key.

    Both sides are sorted by key, so polars joins them by merging; keys must be unique.
    """
    sides = []
    for name, side in (("old", a), ("new", b)):
        index = pl.DataFrame(
            {KEY_COLUMN: side.keys, HASH_COLUMN: side.hashes, _ACTIVE: side.active}
        ).with_row_index(_ROW)
        if not side.keys.is_sorted():
            index = index.sort(KEY_COLUMN)
        keys = index[KEY_COLUMN]
        if keys.len() > 1 and (keys.slice(1) == keys.slice(0, keys.len() - 1)).any():
            raise pl.exceptions.ComputeError(
                f"duplicate key ({', '.join(key)}) in the {name} edition: join keys did not "
                "fulfill 1:1 validation"
            )
        sides.append(index.with_columns(pl.col(KEY_COLUMN).set_sorted()))
    old_index, new_index = sides
    joined = old_index.join(new_index, on=KEY_COLUMN, how="left", suffix=_NEW)
    partner = pl.col(f"{_ROW}{_NEW}")
    # Only what may have changed leaves the join: an unmatched record, a status that
    # differs, a hash that differs. Everything else is unchanged, and only counted.
    moved = (pl.col(_ACTIVE) != pl.col(f"{_ACTIVE}{_NEW}")) | (
        pl.col(HASH_COLUMN) != pl.col(f"{HASH_COLUMN}{_NEW}")
    )
    rest = joined.filter(partner.is_null() | moved)
    old_only = rest.filter(partner.is_null()).select(_ROW, _ACTIVE)
    rename = {c: f"{c}{_OLD}" for c in (_ROW, HASH_COLUMN, _ACTIVE)}
    pairs = rest.filter(partner.is_not_null()).rename(rename)
    seen = pl.repeat(False, b.frame.height, eager=True, dtype=pl.Boolean)
    seen = seen.scatter(joined[f"{_ROW}{_NEW}"].drop_nulls(), True)
    new_only = new_index.filter(~seen.gather(new_index[_ROW])).select(_ROW, _ACTIVE)
    return _Aligned(pairs, joined.height - old_only.height, old_only, new_only)


def _differs(
    old: pl.DataFrame,
    new: pl.DataFrame,
    candidates: pl.DataFrame,
    compared: list[str],
    values: list[pl.Expr],
) -> pl.Series:
    """Which candidate pairs (hashes differ) really differ in a compared column."""
    if not candidates.height or not compared:
        return pl.repeat(False, candidates.height, eager=True, dtype=pl.Boolean)
    before = old[candidates[f"{_ROW}{_OLD}"]].select(values)
    after = new[candidates[f"{_ROW}{_NEW}"]].select(values)
    return (
        pl.DataFrame({c: before[c].ne_missing(after[c]) for c in compared})
        .select(pl.any_horizontal(pl.all()))
        .to_series()
    )


def active(termination: str | None, columns: Sequence[str], effective: date) -> pl.Expr:
    """The one definition of an active record: not terminated on or before its edition's
    effective date (a code set without a termination column has only active records)."""
    if termination is None or termination not in columns:
        return pl.lit(True)
    return pl.col(termination).is_null() | (pl.col(termination) > pl.lit(effective))


def _active(spec: CodeSetSpec, frame: pl.DataFrame, effective: date) -> pl.Series:
    flag = active(spec.termination, frame.columns, effective).alias(_ACTIVE)
    return frame.with_columns(flag)[_ACTIVE]


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
