"""Properties of the diff that must hold for any pair of editions (hypothesis)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from tempfile import TemporaryDirectory

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.analysis.cycle import Analysis
from pipeline.diff.changeset import ChangeSet
from pipeline.diff.engine import diff
from pipeline.report.render import cycle_json
from pipeline.store.snapshots import SourceInfo, Store
from tests.conftest import edition, make_spec

OLD = edition("A", date(2024, 1, 1))
NEW = edition("B", date(2025, 1, 1))
SPEC = make_spec()
COLUMNS = ["code", "description", "terminated"]

codes = st.sampled_from([f"9{n:04d}" for n in range(7000, 7030)] + ["G0283", "G8978", "CQ"])
texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=40,
)
terminations = st.one_of(
    st.none(), st.sampled_from([date(2023, 12, 31), date(2024, 6, 30), date(2024, 12, 31)])
)


@st.composite
def editions(draw: st.DrawFn) -> pl.DataFrame:
    keys = draw(st.lists(codes, unique=True, max_size=12))
    rows = [
        {
            "code": k,
            "description": draw(st.one_of(st.none(), texts)),
            "terminated": draw(terminations),
        }
        for k in keys
    ]
    return pl.DataFrame(
        rows, schema={"code": pl.String, "description": pl.String, "terminated": pl.Date}
    )


def keys(frame: pl.DataFrame, reason: str | None = None) -> list[str]:
    if reason is not None:
        frame = frame.filter(pl.col("reason") == reason)
    return sorted(frame["code"].to_list())


@given(editions())
def test_an_edition_against_itself_is_empty(a: pl.DataFrame) -> None:
    cs = diff(a, a, SPEC, old_info=OLD, new_info=NEW)
    # Same data, but the later effective date can end records: only discontinuations.
    assert cs.added.height == cs.changed.height == cs.reactivated.height == 0
    same_day = diff(a, a, SPEC, old_info=OLD, new_info=OLD)
    assert same_day.is_empty and same_day.unchanged == a.height


@given(editions(), editions())
def test_swapping_editions_swaps_the_kinds(a: pl.DataFrame, b: pl.DataFrame) -> None:
    forward = diff(a, b, SPEC, old_info=OLD, new_info=NEW)
    back = diff(b, a, SPEC, old_info=NEW, new_info=OLD)
    assert keys(forward.added) == keys(back.deleted, "removed")
    assert keys(forward.deleted, "removed") == keys(back.added)
    assert keys(forward.deleted, "discontinued") == keys(back.reactivated)
    assert keys(forward.reactivated) == keys(back.deleted, "discontinued")
    assert keys(forward.interim) == keys(back.purged)
    assert keys(forward.changed) == keys(back.changed)
    for key, changes in forward.fields.items():
        assert [(c.name, c.old, c.new) for c in changes] == [
            (c.name, c.new, c.old) for c in back.fields[key]
        ]


def apply(a: pl.DataFrame, cs: ChangeSet) -> pl.DataFrame:
    """Rebuild the new edition from the old one and the change set alone."""
    gone = set(keys(cs.deleted, "removed")) | set(keys(cs.purged))
    rows = {r["code"]: dict(r) for r in a.iter_rows(named=True) if r["code"] not in gone}
    for (code,), changes in cs.fields.items():
        for change in changes:
            rows[code][change.name] = change.new
    for frame in (cs.added, cs.interim):
        for r in frame.select(COLUMNS).iter_rows(named=True):
            rows[r["code"]] = r
    return pl.DataFrame(list(rows.values()), schema=a.schema).sort("code")


@given(editions(), editions())
def test_applying_the_change_set_gives_the_new_edition(a: pl.DataFrame, b: pl.DataFrame) -> None:
    cs = diff(a, b, SPEC, old_info=OLD, new_info=NEW)
    assert apply(a, cs).equals(b.sort("code"))
    counted = sum(cs.counts.values())
    assert counted == len(set(a["code"]) | set(b["code"]))


@settings(max_examples=30, deadline=None)
@given(editions(), editions())
def test_unicode_survives_store_diff_and_json(a: pl.DataFrame, b: pl.DataFrame) -> None:
    with TemporaryDirectory() as tmp:
        store = Store(Path(tmp))
        source = SourceInfo(name="x.csv", sha256="0" * 64, bytes=0)
        old = store.put("demo", "A", OLD.effective_date, a.sort("code"), ["code"], source)
        new = store.put("demo", "B", NEW.effective_date, b.sort("code"), ["code"], source)
        assert old.snapshot.frame().equals(a.sort("code"))
        cs = diff(old.snapshot.frame(), new.snapshot.frame(), SPEC, old_info=OLD, new_info=NEW)
    data = json.loads(cycle_json(Analysis(cs)))
    by_code = {r["code"]: r for r in b.iter_rows(named=True)}
    for record in data["added"] + data["changed"]:
        assert record["description"] == by_code[record["code"]]["description"]
