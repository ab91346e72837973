"""The diff engine's alignment paths agree: packed keys sorted or not, and hashed keys."""

from __future__ import annotations

from datetime import date

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.diff.engine import diff
from tests.conftest import edition, make_spec
from tests.test_properties import editions

OLD = edition("A", date(2024, 1, 1))
NEW = edition("B", date(2025, 1, 1))
SPEC = make_spec()


def lower(frame: pl.DataFrame) -> pl.DataFrame:
    """Lower-case codes do not pack: the engine hashes them instead."""
    return frame.with_columns(pl.col("code").str.to_lowercase())


def summary(cs) -> tuple:
    def codes(frame: pl.DataFrame) -> list[str]:
        return sorted(c.upper() for c in frame["code"])

    fields = {(k[0].upper(),): [(c.name, c.old, c.new) for c in v] for k, v in cs.fields.items()}
    kinds = ("added", "deleted", "changed", "reactivated", "interim", "purged")
    return cs.counts, {kind: codes(getattr(cs, kind)) for kind in kinds}, fields


@settings(max_examples=60, deadline=None)
@given(editions(), editions(), st.booleans())
def test_hashed_unsorted_and_sorted_keys_give_the_same_change_set(
    a: pl.DataFrame, b: pl.DataFrame, shuffle: bool
) -> None:
    packed = diff(a.sort("code"), b.sort("code"), SPEC, old_info=OLD, new_info=NEW)
    if shuffle:
        a, b = a.reverse(), b.reverse()
    unsorted = diff(a, b, SPEC, old_info=OLD, new_info=NEW)
    hashed = diff(lower(a), lower(b), SPEC, old_info=OLD, new_info=NEW)
    assert summary(packed) == summary(unsorted) == summary(hashed)
    for cs in (packed, unsorted, hashed):
        for kind in ("added", "changed", "deleted"):
            frame = getattr(cs, kind)
            assert frame.equals(frame.sort("code"))
