"""Large snapshots carry an index (packed key, row hash) beside their data, invisibly."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import pipeline.diff.engine
import pipeline.store.snapshots
from pipeline.diff.changeset import EditionInfo
from pipeline.diff.engine import diff, diff_snapshots
from pipeline.errors import StoreError
from pipeline.project.verify import verify
from pipeline.store.snapshots import (
    HASH_COLUMN,
    INDEXED_SCHEMA_VERSION,
    KEY_COLUMN,
    MANIFEST,
    Snapshot,
    SourceInfo,
    Store,
    content_digest,
)
from tests.conftest import make_spec, therapy_2024, therapy_2025

SOURCE = SourceInfo(name="demo.csv", sha256="0" * 64, bytes=1)
SPEC = make_spec()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    """A store that indexes every snapshot, however small."""
    monkeypatch.setattr(pipeline.store.snapshots, "INDEX_MIN_ROWS", 1)
    return Store(tmp_path / "store")


def put(store: Store, version: str, frame: pl.DataFrame, effective: date):
    return store.put("demo", version, effective, frame.sort("code"), ["code"], SOURCE).snapshot


def test_indexed_snapshot_reads_back_its_data_only(store: Store) -> None:
    snap = put(store, "2024", therapy_2024(), date(2024, 1, 1))
    m = snap.manifest
    assert m.schema_version == INDEXED_SCHEMA_VERSION
    assert m.index is not None and m.index.key == "base36:5"
    assert m.index.hashed == ("description", "terminated")
    assert [n for n, _ in m.columns][-2:] == [KEY_COLUMN, HASH_COLUMN]
    assert_frame_equal(snap.frame(), therapy_2024().sort("code"))
    assert m.content_sha256 == content_digest(therapy_2024().sort("code"))
    data, index = snap.read()
    assert_frame_equal(data, therapy_2024().sort("code"))
    assert index is not None and index[KEY_COLUMN].is_sorted()
    raw = json.loads((snap.path / MANIFEST).read_text(encoding="utf-8"))
    assert raw["index"]["row_hash"].startswith("polars ")


def test_indexed_store_verifies(store: Store) -> None:
    put(store, "2024", therapy_2024(), date(2024, 1, 1))
    assert verify(store).ok


def test_small_snapshots_keep_the_plain_layout(tmp_path: Path) -> None:
    snap = put(Store(tmp_path), "2024", therapy_2024(), date(2024, 1, 1))
    assert snap.manifest.index is None and snap.manifest.schema_version == 1
    assert snap.read()[1] is None


def test_index_column_names_are_reserved(store: Store) -> None:
    with pytest.raises(StoreError, match="reserved"):
        put(store, "2024", therapy_2024().with_columns(pl.lit(1).alias(KEY_COLUMN)), date.today())


def info(snapshot: Snapshot) -> EditionInfo:
    return EditionInfo.from_manifest(snapshot.manifest)


def same(a, b) -> None:
    assert a.counts == b.counts
    assert a.fields == b.fields
    for kind in ("added", "deleted", "changed", "reactivated", "interim", "purged"):
        assert_frame_equal(getattr(a, kind), getattr(b, kind))


def test_diff_of_indexed_snapshots_equals_diff_of_frames(store: Store) -> None:
    old = put(store, "2024", therapy_2024(), date(2024, 1, 1))
    new = put(store, "2025", therapy_2025(), date(2025, 1, 1))
    expected = diff(therapy_2024(), therapy_2025(), SPEC, old_info=info(old), new_info=info(new))
    same(diff_snapshots(old, new, SPEC), expected)


def test_hashes_of_another_polars_are_recomputed(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stored row hashes are used only if this polars made them: here they are all zero,
    which would hide 97140's reworded descriptor if they were trusted."""
    old = put(store, "2024", therapy_2024(), date(2024, 1, 1))
    new = put(store, "2025", therapy_2025(), date(2025, 1, 1))
    expected = diff_snapshots(old, new, SPEC)
    assert expected.counts["changed"] == 1
    real_read = Snapshot.read

    def zeroed(self: Snapshot) -> tuple[pl.DataFrame, pl.DataFrame | None]:
        data, index = real_read(self)
        assert index is not None
        return data, index.with_columns(pl.lit(0, pl.UInt64).alias(HASH_COLUMN))

    monkeypatch.setattr(Snapshot, "read", zeroed)
    assert diff_snapshots(old, new, SPEC).counts["changed"] == 0
    monkeypatch.setattr(pipeline.diff.engine, "row_hash_version", lambda: "polars 0.0.1")
    same(diff_snapshots(old, new, SPEC), expected)


def test_an_indexed_and_a_plain_snapshot_diff(store: Store, tmp_path: Path) -> None:
    old = put(Store(tmp_path / "plain"), "2024", therapy_2024(), date(2024, 1, 1))
    new = put(store, "2025", therapy_2025(), date(2025, 1, 1))
    expected = diff(therapy_2024(), therapy_2025(), SPEC, old_info=info(old), new_info=info(new))
    same(diff_snapshots(old, new, SPEC), expected)
