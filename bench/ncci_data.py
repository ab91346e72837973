"""NCCI-scale PTP editions in CMS's real layout, with a known set of differences.

Two quarterly editions of about 2.5 million (column 1, column 2) pairs: the newer one
adds 0.5% new pairs, deletes 0.5% (half dropped from the file, half kept with a
deletion date on or before its effective date) and changes 1% (modifier indicator
flips and rationale changes). Edits deleted long ago stay listed, as in CMS's files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from bench.codes import procedure_codes, skewed_weights

SEED = 20250401
ROWS = 2_500_000
OLD_DATE, NEW_DATE = date(2025, 1, 1), date(2025, 4, 1)
OLD_NAME, NEW_NAME = "ccipra-v311r0-f1.txt", "ccipra-v312r0-f1.txt"
KEY = ("column1", "column2")

#: Lines 1-6 of CMS's `ccipra-v322r0-f1.txt`, verbatim (as in tests/sources/test_ncci.py).
HEADER = (
    "CPT only copyright 2025 American Medical Association.  All rights reserved.\t\t\t\t\t\t",
    "Column1/Column2 Edits\t\t\t\t\t\t",
    "Column 1\tColumn 2\t*=in existence\tEffective\tDeletion\tModifier\tPTP Edit Rationale",
    "\t\tprior to 1996\tDate\tDate\t0=not allowed\t",
    "\t\t\t\t*=no data\t1=allowed\t",
    "\t\t\t\t\t9=not applicable\t",
)
RATIONALES = (
    "CPT Manual or CMS manual coding instruction",
    "Standards of medical/surgical practice",
    "Mutually exclusive procedures",
    "Misuse of Column Two code with Column One code",
    "CPT separate procedure definition",
    "More extensive procedure",
    "HCPCS/CPT procedure code definition",
    "Anesthesia service included in surgical procedure",
    "Gender-specific procedures",
    "Laboratory panel",
    "Designation of sequential procedure",
    "Medicare Anesthesia Rules",
)
RATIONALE_WEIGHTS = np.array([30, 25, 12, 10, 6, 5, 4, 3, 1, 1, 2, 1], dtype=float)
MODIFIERS = np.array(["0", "1", "9"], dtype=object)


@dataclass(frozen=True)
class Truth:
    """What the generator changed, as (column1, column2) frames: what every diff must find."""

    added: pl.DataFrame
    removed: pl.DataFrame
    discontinued: pl.DataFrame
    changed: pl.DataFrame


@dataclass(frozen=True)
class NcciEditions:
    old: Path
    new: Path
    old_date: date
    new_date: date
    truth: Truth


def generate(directory: Path, rows: int = ROWS, seed: int = SEED) -> NcciEditions:
    """Write the two editions into `directory`; return their paths and the true changes."""
    rng = np.random.default_rng(seed)
    codes = pl.Series("code", procedure_codes(rng), dtype=pl.String)
    n_added, n_removed = rows // 200, rows // 400
    n_discontinued, n_changed = rows // 400, rows // 100
    pairs = _unique_pairs(rng, len(codes), rows + n_added)
    is_added = np.zeros(len(pairs), dtype=bool)
    is_added[rng.choice(len(pairs), n_added, replace=False)] = True
    old = _attributes(rng, pairs[~is_added], len(codes), OLD_DATE, history=True)
    active = np.flatnonzero(old["deletion_date"].to_numpy() == "*")
    picked = rng.choice(active, n_removed + n_discontinued + n_changed, replace=False)
    removed = picked[:n_removed]
    discontinued = picked[n_removed : n_removed + n_discontinued]
    changed = picked[n_removed + n_discontinued :]
    new = _revise(rng, old, discontinued, changed)
    new = new.filter(~pl.Series(np.isin(np.arange(old.height), removed)))
    added = _attributes(rng, pairs[is_added], len(codes), NEW_DATE, history=False)
    new = pl.concat([new, added]).sort("pair")
    truth = Truth(
        added=_keys(added, codes),
        removed=_keys(old[removed], codes),
        discontinued=_keys(old[discontinued], codes),
        changed=_keys(old[changed], codes),
    )
    old_path, new_path = directory / OLD_NAME, directory / NEW_NAME
    _write(old, codes, old_path)
    _write(new, codes, new_path)
    return NcciEditions(old_path, new_path, OLD_DATE, NEW_DATE, truth)


def _unique_pairs(rng: np.random.Generator, n: int, wanted: int) -> np.ndarray:
    """`wanted` distinct pairs (as `column1 * n + column2`, no code paired with itself)."""
    first, second = skewed_weights(rng, n, 0.9), skewed_weights(rng, n, 0.7)
    found = np.empty(0, dtype=np.int64)
    while len(found) < wanted:
        draw = wanted * 6 // 5
        a = rng.choice(n, draw, p=first)
        b = rng.choice(n, draw, p=second)
        found = np.unique(np.concatenate([found, (a * n + b)[a != b]]))
    return np.sort(rng.choice(found, wanted, replace=False))


def _attributes(
    rng: np.random.Generator, pairs: np.ndarray, n: int, edition: date, *, history: bool
) -> pl.DataFrame:
    """Effective and deletion dates, modifier indicator and rationale for each pair."""
    rows = len(pairs)
    day = np.datetime64(edition, "D")
    if history:
        start = np.datetime64("1996-01-01")
        effective = start + rng.integers(0, (day - start).astype(int), rows)
        prior = rng.random(rows) < 0.05
        effective[prior] = np.datetime64("1996-01-01")
        deleted = rng.random(rows) < 0.08
        span = (day - effective).astype(int)
        deletion = effective + (rng.random(rows) * span).astype(int)
    else:
        effective = np.full(rows, day)
        prior = np.zeros(rows, dtype=bool)
        deleted = np.zeros(rows, dtype=bool)
        deletion = effective
    modifier = MODIFIERS[rng.choice(3, rows, p=[0.35, 0.6, 0.05])]
    rationale = rng.choice(len(RATIONALES), rows, p=RATIONALE_WEIGHTS / RATIONALE_WEIGHTS.sum())
    return pl.DataFrame(
        {
            "pair": pairs,
            "prior_1996": np.where(prior, "*", ""),
            "effective_date": pl.Series(effective).dt.strftime("%Y%m%d"),
            "deletion_date": np.where(
                deleted, pl.Series(deletion).dt.strftime("%Y%m%d").to_numpy(), "*"
            ),
            "modifier_indicator": modifier,
            "rationale": pl.Series(rationale).replace_strict(
                dict(enumerate(RATIONALES)), return_dtype=pl.String
            ),
        }
    )


def _revise(
    rng: np.random.Generator, old: pl.DataFrame, discontinued: np.ndarray, changed: np.ndarray
) -> pl.DataFrame:
    """The old edition with deletion dates set and fields changed at the given rows."""
    span = (np.datetime64(NEW_DATE, "D") - np.datetime64(OLD_DATE, "D")).astype(int)
    ends = np.datetime64(OLD_DATE, "D") + rng.integers(1, span + 1, len(discontinued))
    deletion = old["deletion_date"].to_numpy().copy()
    deletion[discontinued] = pl.Series(ends).dt.strftime("%Y%m%d").to_numpy()
    modifier = old["modifier_indicator"].to_numpy().copy()
    rationale = old["rationale"].to_numpy().copy()
    what = rng.integers(0, 3, len(changed))  # 0: modifier flip, 1: rationale, 2: both
    flip = changed[what != 1]
    modifier[flip] = np.where(modifier[flip] == "1", "0", "1")
    reword = changed[what != 0]
    shift = rng.integers(1, len(RATIONALES), len(reword))
    index = {text: i for i, text in enumerate(RATIONALES)}
    current = np.array([index[t] for t in rationale[reword]])
    rationale[reword] = np.array(RATIONALES, dtype=object)[(current + shift) % len(RATIONALES)]
    return old.with_columns(
        pl.Series("deletion_date", deletion, dtype=pl.String),
        pl.Series("modifier_indicator", modifier, dtype=pl.String),
        pl.Series("rationale", rationale, dtype=pl.String),
    )


def _keys(frame: pl.DataFrame, codes: pl.Series) -> pl.DataFrame:
    n = len(codes)
    pair = frame["pair"]
    return pl.DataFrame(
        {"column1": codes.gather(pair // n), "column2": codes.gather(pair % n)}
    ).sort(KEY)


def _write(frame: pl.DataFrame, codes: pl.Series, path: Path) -> None:
    """CRLF line ends, tab-separated, the real six header lines, rows in key order."""
    pair = frame.sort("pair")
    n = len(codes)
    data = pair.select(
        codes.gather(pair["pair"] // n).alias("column1"),
        codes.gather(pair["pair"] % n).alias("column2"),
        "prior_1996",
        "effective_date",
        "deletion_date",
        "modifier_indicator",
        "rationale",
    )
    with path.open("wb") as handle:
        handle.write("".join(f"{line}\r\n" for line in HEADER).encode("ascii"))
        data.write_csv(
            handle,
            include_header=False,
            separator="\t",
            line_terminator="\r\n",
            quote_style="never",
        )
