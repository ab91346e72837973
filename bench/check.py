"""Every approach must find exactly the changes the generator made: fail loudly if not."""

from __future__ import annotations

import polars as pl

from bench.ncci_data import KEY, Truth
from bench.workdir import Workdir

#: What every approach reports, in raw terms: pairs only in the new file, only in the
#: old one, and in both with a column changed (a deletion date set is a change).
RAW_KINDS = ("added", "deleted", "changed")


def expected(truth: Truth) -> dict[str, pl.DataFrame]:
    return {
        "added": truth.added,
        "deleted": truth.removed,
        "changed": pl.concat([truth.changed, truth.discontinued]).sort(KEY),
        "changed_only": truth.changed,
        "discontinued": truth.discontinued,
        "interim": truth.added.clear(),
        "purged": truth.added.clear(),
        "reactivated": truth.added.clear(),
    }


def check(workdir: Workdir, truth: Truth, approaches: list[str]) -> None:
    """Compare each approach's keys with the truth, kind by kind."""
    want = expected(truth)
    for approach in approaches:
        found = pl.read_parquet(workdir.found(approach))
        kinds = set(found["kind"].unique()) | set(RAW_KINDS)
        for kind in sorted(kinds):
            got = found.filter(pl.col("kind") == kind).select(KEY).sort(KEY)
            if not got.equals(want[kind]):
                missing = want[kind].join(got, on=list(KEY), how="anti")
                extra = got.join(want[kind], on=list(KEY), how="anti")
                raise AssertionError(
                    f"{approach} found {got.height} {kind} pairs, expected {want[kind].height}: "
                    f"{missing.height} missing (e.g. {missing.head(3).rows()}), "
                    f"{extra.height} unexpected (e.g. {extra.head(3).rows()})"
                )
