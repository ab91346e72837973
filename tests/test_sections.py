"""Reports at scale: a cycle with 100,000+ changes stays within each format's size limit,
says what it left out and where the full lists are; the JSON stays complete. Sizes only:
nothing here is timed."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipeline.analysis.cycle import Analysis
from pipeline.diff.engine import diff
from pipeline.project.publish import write_cycle
from pipeline.report.render import render_cycle
from tests.conftest import edition, make_spec

N = 120_000


@pytest.fixture(scope="module")
def big() -> Analysis:
    """An NCCI-like pair table: of 120,000 pairs, a third get a new rationale and two
    thirds a new modifier indicator (1 -> 0 or 1 -> 9), so no change is edition-wide;
    30,000 pairs added and 30,000 deleted; 97140/97530 is a changed pair and 97140 is
    watched."""
    codes = [f"{n:05d}" for n in range(10_000, 10_000 + N)]
    old = pl.DataFrame(
        {
            "column1": ["97140", *codes[: N - 1]] + [f"D{n:04d}" for n in range(30_000)],
            "column2": ["97530", *codes[1:]] + ["99213"] * 30_000,
            "modifier_indicator": ["1"] * N + ["1"] * 30_000,
            "rationale": ["Misuse of column two code with column one code"] * (N + 30_000),
        }
    )
    third = pl.int_range(pl.len()) % 3
    changed = old.head(N).with_columns(
        pl.when(third == 0)
        .then(pl.lit("Standards of medical / surgical practice"))
        .otherwise("rationale")
        .alias("rationale"),
        pl.when(third == 1)
        .then(pl.lit("0"))
        .when(third == 2)
        .then(pl.lit("9"))
        .otherwise("modifier_indicator")
        .alias("modifier_indicator"),
    )
    new = pl.concat(
        [
            changed,
            pl.DataFrame(
                {
                    "column1": [f"A{n:04d}" for n in range(30_000)],
                    "column2": ["97110"] * 30_000,
                    "modifier_indicator": ["9"] * 30_000,
                    "rationale": ["Mutually exclusive procedures"] * 30_000,
                }
            ),
        ]
    )
    spec = make_spec(key=("column1", "column2"), descriptors=(), termination=None)
    cs = diff(
        old.sort("column1", "column2"),
        new.sort("column1", "column2"),
        spec,
        old_info=edition("2026Q2", date(2026, 4, 1), rows=old.height),
        new_info=edition("2026Q3", date(2026, 7, 1), rows=new.height),
    )
    assert cs.counts["changed"] == N and cs.counts["added"] == cs.counts["deleted"] == 30_000
    return Analysis(cs, watched=frozenset({"97140"}))


def test_html_is_under_10_mb_and_says_what_it_left_out(big: Analysis) -> None:
    html = render_cycle(big)["html"]
    assert len(html.encode()) < 10 * 1024**2
    assert "Showing 2,000 of 30,000" in html and "2026Q2_to_2026Q3/added.csv" in html
    assert "of 120,000" in html and "2026Q2_to_2026Q3/other-changes.parquet" in html
    assert '<a href="../history/97140.html">97140 97530</a>' in html  # watched rows first


@pytest.mark.parametrize("limit", [1_000_000, 65_536])
def test_markdown_fits_its_limit(big: Analysis, limit: int) -> None:
    md = render_cycle(big, markdown_limit=limit)["md"]
    assert len(md.encode()) <= limit
    assert "of 30,000 (your codes first" in md
    assert "[CSV](2026Q2_to_2026Q3/deleted.csv)" in md
    assert "| 97140 97530 | Rationale |" in md  # the watched pair is never left out


def test_json_stays_complete(big: Analysis) -> None:
    data = json.loads(render_cycle(big)["json"])
    assert len(data["changed"]) == N and len(data["added"]) == 30_000


def test_full_lists_are_written_beside_the_report(big: Analysis, tmp_path: Path) -> None:
    write_cycle(big, tmp_path)
    folder = tmp_path / "demo" / "2026Q2_to_2026Q3"
    added = pl.read_parquet(folder / "added.parquet")
    assert added.height == 30_000
    changes = pl.read_csv(folder / "other-changes.csv", infer_schema_length=0)
    assert changes.height == N
    assert changes.columns == ["column1", "column2", "field", "old", "new"]
    assert (tmp_path / "demo" / "2026Q2_to_2026Q3.html").stat().st_size < 10 * 1024**2
