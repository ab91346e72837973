"""The mass-change guard: refuse an edition that looks like a truncated download.

A cut-off file parses cleanly and would be reported as thousands of deleted
codes. Before storing an edition we compare it with the previous one; past the
code set's limits it is refused unless the operator says the change is real.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from pipeline.errors import MassChangeError
from pipeline.spec import GuardLimits
from pipeline.store.snapshots import Snapshot


def check_mass_change(
    previous: Snapshot | None,
    new: pl.DataFrame,
    key: Sequence[str],
    limits: GuardLimits,
    label: str,
) -> None:
    """Raise `MassChangeError` if `new` shrinks or deletes too much against `previous`."""
    if new.height == 0:
        raise MassChangeError(f"{label}: the edition is empty; refusing to store it")
    if previous is None or previous.manifest.rows == 0:
        return
    before = previous.manifest.rows
    # Keys compare as text: a key read as a number before and as text now is the same code.
    as_text = [pl.col(k).cast(pl.String) for k in key]
    old_keys = previous.frame(list(key)).select(as_text)
    new_keys = new.select(as_text)
    deleted = old_keys.join(new_keys, on=list(key), how="anti", nulls_equal=True).height
    shrink = (before - new.height) / before
    problems = []
    if shrink > limits.max_shrink:
        problems.append(
            f"it has {new.height:,} rows against {before:,} in {previous.manifest.version} "
            f"({shrink:.1%} fewer; the limit is {limits.max_shrink:.0%})"
        )
    if deleted / before > limits.max_deleted:
        problems.append(
            f"{deleted:,} of {before:,} codes in {previous.manifest.version} are gone "
            f"({deleted / before:.1%}; the limit is {limits.max_deleted:.0%})"
        )
    if problems:
        raise MassChangeError(
            f"{label}: refusing a suspicious edition: {'; '.join(problems)}. A truncated "
            "download? If the change is real, re-run with --allow-mass-change"
        )
