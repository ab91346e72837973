"""Field-level detail: polars' bulk comparison says exactly what deepdiff says."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.diff.fields import _by_deepdiff, _by_polars, field_changes

KEY = ["code"]
COMPARED = ["description", "terminated", "units", "price", "flag"]
SCHEMA = {
    "code": pl.String(),
    "description": pl.String(),
    "terminated": pl.Date(),
    "units": pl.Int64(),
    "price": pl.Decimal(10, 2),
    "flag": pl.Boolean(),
}


def frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMA)


values = st.fixed_dictionaries(
    {
        "description": st.one_of(st.none(), st.sampled_from(["", "Manual therapy", "Manual"])),
        "terminated": st.one_of(st.none(), st.sampled_from([date(2024, 12, 31)])),
        "units": st.one_of(st.none(), st.integers(0, 2)),
        "price": st.one_of(st.none(), st.sampled_from([Decimal("1.50"), Decimal("2.00")])),
        "flag": st.one_of(st.none(), st.booleans()),
    }
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(values, values), min_size=1, max_size=8))
def test_polars_and_deepdiff_agree(pairs: list[tuple[dict, dict]]) -> None:
    before = frame([{"code": f"9{i:04d}", **a} for i, (a, _) in enumerate(pairs)])
    after = frame([{"code": f"9{i:04d}", **b} for i, (_, b) in enumerate(pairs)])
    args = (before, after, KEY, COMPARED, ["description"])
    fast, reference = _by_polars(*args), _by_deepdiff(*args)
    assert fast == reference
    assert list(fast) == list(reference)


def test_records_come_out_in_key_order_with_word_diffs() -> None:
    """Given out of order: 97530 rationale only; 97140 descriptor reworded."""
    before = frame(
        [
            {"code": "97530", "description": "Therapeutic activities", "units": 1},
            {"code": "97140", "description": "Manual therapy techniques", "units": 1},
        ]
    )
    after = frame(
        [
            {"code": "97530", "description": "Therapeutic activities", "units": 2},
            {"code": "97140", "description": "Manual therapy techniques, each 15 minutes"},
        ]
    )
    out = field_changes(before, after, KEY, COMPARED, ["description"])
    assert list(out) == [("97140",), ("97530",)]
    description, units = out[("97140",)]
    assert description.words is not None and description.words.removed == ["techniques"]
    assert (units.name, units.old, units.new) == ("units", 1, None)
    assert [(c.name, c.old, c.new) for c in out[("97530",)]] == [("units", 1, 2)]


def test_floats_go_through_deepdiff() -> None:
    """NaN differs from itself for deepdiff but not for polars: deepdiff decides."""
    schema = {"code": pl.String(), "rvu": pl.Float64()}
    before = pl.DataFrame({"code": ["97140"], "rvu": [float("nan")]}, schema=schema)
    after = pl.DataFrame({"code": ["97140"], "rvu": [float("nan")]}, schema=schema)
    out = field_changes(before, after, KEY, ["rvu"], [])
    assert list(out) == [("97140",)]
