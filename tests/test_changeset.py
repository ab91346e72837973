"""The ChangeSet: counts, records with their field changes, edition-wide changes computed
once by the diff, and the JSON form."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import polars as pl

from pipeline.diff.changeset import FieldChange, jsonable, uniform_changes
from pipeline.diff.engine import diff
from tests.conftest import edition, make_spec, therapy_2024, therapy_2025

OLD, NEW = edition("2024", date(2024, 1, 1)), edition("2025", date(2025, 1, 1))


def test_counts_and_records_of_the_therapy_cycle() -> None:
    """97140 reworded; 97530 added; G0283 removed; G8978 discontinued; 97110 unchanged."""
    cs = diff(therapy_2024(), therapy_2025(), make_spec(), old_info=OLD, new_info=NEW)
    assert cs.counts == {
        "added": 1,
        "deleted": 2,
        "changed": 1,
        "reactivated": 0,
        "interim": 0,
        "purged": 0,
        "unchanged": 1,
    }
    (changed,) = cs.records("changed")
    assert changed["code"] == "97140"
    assert [f.name for f in changed["fields"]] == ["description"]
    deleted = {r["code"]: r["reason"] for r in cs.records("deleted")}
    assert deleted == {"G0283": "removed", "G8978": "discontinued"}
    assert cs.key_label(changed) == "97140"
    assert not cs.is_empty


def test_records_of_takes_only_the_rows_given() -> None:
    cs = diff(therapy_2024(), therapy_2025(), make_spec(), old_info=OLD, new_info=NEW)
    few = cs.records_of(cs.deleted.filter(pl.col("code") == "G8978"))
    assert [r["code"] for r in few] == ["G8978"]
    assert [f.name for f in few[0]["fields"]] == ["terminated"]


def test_uniform_changes_need_most_paired_records() -> None:
    """A conversion factor moving on 3 of 4 paired records is edition-wide; a descriptor
    change never is; a change on one record alone is not."""
    cf = FieldChange("conversion_factor", Decimal("33.2875"), Decimal("32.3465"))
    fields = {
        ("97110",): (cf,),
        ("97140",): (cf, FieldChange("description", "a", "b", None)),
        ("97530",): (cf,),
        ("97150",): (FieldChange("status", "A", "I"),),
    }
    (u,) = uniform_changes(fields, unchanged=1, descriptors=["description"])
    assert (u.name, u.records, u.of) == ("conversion_factor", 3, 5)
    assert uniform_changes(fields, unchanged=100, descriptors=["description"]) == ()


def test_the_diff_carries_its_uniform_changes() -> None:
    old = pl.DataFrame({"code": ["A", "B", "C"], "cf": ["1", "1", "1"], "description": "x"})
    new = pl.DataFrame({"code": ["A", "B", "C"], "cf": ["2", "2", "2"], "description": "x"})
    spec = make_spec(termination=None)
    cs = diff(old, new, spec, old_info=OLD, new_info=NEW)
    assert [(u.name, u.old, u.new, u.records) for u in cs.uniform] == [("cf", "1", "2", 3)]
    assert cs.to_dict()["uniform_changes"] == [
        {"field": "cf", "old": "1", "new": "2", "records": 3, "of": 3}
    ]


def test_to_dict_is_plain_json() -> None:
    cs = diff(therapy_2024(), therapy_2025(), make_spec(), old_info=OLD, new_info=NEW)
    data = json.loads(json.dumps(cs.to_dict(), default=jsonable))
    assert data["counts"]["added"] == 1
    assert data["deleted"][1]["terminated"] == "2024-12-31"
    assert data["from"]["version"] == "2024" and data["to"]["version"] == "2025"
