"""The comparisons a team would write without this pipeline, each the obvious way.

Every baseline reads the two raw PTP files and returns the added, deleted and changed
(column 1, column 2) pairs: added = only in the new file, deleted = only in the old
one, changed = in both with any other column different. Libraries are imported inside
each function, so that a run times one library only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from bench.ncci_data import HEADER, KEY

COLUMNS = (
    "column1",
    "column2",
    "prior_1996",
    "effective_date",
    "deletion_date",
    "modifier_indicator",
    "rationale",
)
OTHERS = COLUMNS[2:]
SKIP = len(HEADER)
#: (added, deleted, changed) key frames, each sorted by (column1, column2).
Found = tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]


def duckdb_sql(old: Path, new: Path) -> Found:
    """DuckDB SQL over the CSVs: two anti-joins and an inner join comparing the columns."""
    import duckdb

    con = duckdb.connect()
    types = ", ".join(f"'{c}': 'VARCHAR'" for c in COLUMNS)
    for name, path in (("old", old), ("new", new)):
        con.execute(
            f"CREATE TABLE {name} AS SELECT * FROM read_csv('{path}', delim='\t', "
            f"header=false, skip={SKIP}, quote='', escape='', columns={{{types}}})"
        )
    on = " AND ".join(f"a.{k} = b.{k}" for k in KEY)
    keys = ", ".join(f"a.{k}" for k in KEY)
    differs = " OR ".join(f"a.{c} IS DISTINCT FROM b.{c}" for c in OTHERS)
    added = con.sql(f"SELECT {keys} FROM new a ANTI JOIN old b ON {on}").pl()
    deleted = con.sql(f"SELECT {keys} FROM old a ANTI JOIN new b ON {on}").pl()
    changed = con.sql(f"SELECT {keys} FROM old a JOIN new b ON {on} WHERE {differs}").pl()
    con.close()
    return _sorted(added, deleted, changed)


def polars_lazy(old: Path, new: Path) -> Found:
    """Polars, lazily and streaming: scan both CSVs, two anti-joins, an inner join."""
    schema = dict.fromkeys(COLUMNS, pl.String)

    def scan(path: Path) -> pl.LazyFrame:
        return pl.scan_csv(
            path, separator="\t", has_header=False, skip_rows=SKIP, schema=schema, quote_char=None
        )

    a, b = scan(old), scan(new)
    joined = a.join(b, on=list(KEY), how="inner", suffix="_new")
    differs = pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"{c}_new")) for c in OTHERS)
    added, deleted, changed = pl.collect_all(
        [
            b.join(a, on=list(KEY), how="anti").select(KEY),
            a.join(b, on=list(KEY), how="anti").select(KEY),
            joined.filter(differs).select(KEY),
        ],
        engine="streaming",
    )
    return _sorted(added, deleted, changed)


def pandas_merge(old: Path, new: Path) -> Found:
    """pandas: read both, one outer merge with `indicator=True`, then compare the columns."""
    import pandas as pd

    def read(path: Path) -> pd.DataFrame:
        return pd.read_csv(
            path,
            sep="\t",
            header=None,
            names=list(COLUMNS),
            skiprows=SKIP,
            dtype=str,
            keep_default_na=False,
            quoting=3,
        )

    merged = read(old).merge(
        read(new), on=list(KEY), how="outer", indicator=True, suffixes=("", "_new")
    )
    both = merged[merged["_merge"] == "both"]
    differs = pd.Series(False, index=both.index)
    for c in OTHERS:
        differs |= both[c] != both[f"{c}_new"]
    keys = list(KEY)
    return _sorted(
        pl.from_pandas(merged.loc[merged["_merge"] == "right_only", keys]),
        pl.from_pandas(merged.loc[merged["_merge"] == "left_only", keys]),
        pl.from_pandas(both.loc[differs, keys]),
    )


def _sorted(*frames: pl.DataFrame) -> Found:
    added, deleted, changed = (
        f.select(pl.col(k).cast(pl.String) for k in KEY).sort(KEY) for f in frames
    )
    return added, deleted, changed


BASELINES: dict[str, Callable[[Path, Path], Found]] = {
    "duckdb": duckdb_sql,
    "polars_lazy": polars_lazy,
    "pandas": pandas_merge,
}
