"""Severity rules: each fires on the change it names, at its default or configured level."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl

from pipeline.analysis.cycle import assess
from pipeline.codesets import kinds
from pipeline.diff.engine import diff
from pipeline.impact.severity import SeverityRules
from pipeline.impact.watchlist import EMPTY, parse_watchlist
from pipeline.report.render import item_sentences
from tests.conftest import edition, frame, make_spec, therapy_2024, therapy_2025

OLD, NEW = edition("2024", date(2024, 1, 1)), edition("2025", date(2025, 1, 1))
CLINIC = parse_watchlist(
    "code,label,annual_units,units_per_day\n"
    "97140,Manual therapy,2600,2\n97530,Therapeutic activities,3100,4\n"
    "G8978,Mobility current status,120,1\n97010-97799,PT/OT range,,\n"
)


def rules_fired(items) -> list[tuple[str, str, str]]:
    return [(i.severity, i.rule, i.code) for i in items]


def test_therapy_cycle_for_the_clinic() -> None:
    """G8978 discontinued (critical); 97140 reworded (warning); 97530 watched and new
    (warning); G0283 removed but not watched (nothing)."""
    cs = diff(therapy_2024(), therapy_2025(), make_spec(), old_info=OLD, new_info=NEW)
    impact = assess(cs, CLINIC)
    assert rules_fired(impact.items) == [
        ("critical", "watched-deleted", "G8978"),
        ("warning", "watched-descriptor", "97140"),
        ("warning", "watched-added", "97530"),
    ]
    assert impact.counts == {"critical": 1, "warning": 2, "info": 0}
    assert [i.code for i in impact.at_least("critical")] == ["G8978"]


def test_new_code_in_a_watched_range_is_a_warning() -> None:
    watch = parse_watchlist("code,label\n97010-97799,PT/OT range\n")
    cs = diff(therapy_2024(), therapy_2025(), make_spec(), old_info=OLD, new_info=NEW)
    assert rules_fired(assess(cs, watch).items) == [("warning", "range-added", "97530")]


def test_no_watchlist_no_items() -> None:
    cs = diff(therapy_2024(), therapy_2025(), make_spec(), old_info=OLD, new_info=NEW)
    assert assess(cs, EMPTY).items == ()


def test_configured_severity_overrides_the_default() -> None:
    cs = diff(therapy_2024(), therapy_2025(), make_spec(), old_info=OLD, new_info=NEW)
    rules = SeverityRules(overrides={"watched-deleted": "warning", "watched-added": "info"})
    fired = rules_fired(assess(cs, CLINIC, rules=rules).items)
    assert ("warning", "watched-deleted", "G8978") in fired
    assert ("info", "watched-added", "97530") in fired


def test_replacement_is_named_in_the_action() -> None:
    cs = diff(therapy_2024(), therapy_2025(), make_spec(), old_info=OLD, new_info=NEW)
    item = assess(cs, CLINIC, replacement={"G8978": "Bill G9999 instead."}.get).items[0]
    assert item.advice == "Bill G9999 instead."
    assert item_sentences(item)[1] == "Bill G9999 instead."


def ncci(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"column1": a, "column2": b, "modifier_indicator": m} for a, b, m in rows],
        schema={"column1": pl.String, "column2": pl.String, "modifier_indicator": pl.String},
    )


def test_ncci_pairs() -> None:
    """New edit 97140/97530 (both watched: critical); 97530/97112 indicator 1 -> 0 (both
    watched: critical); new 97140/99213 (one watched: warning); 20610/99213 (none)."""
    clinic = parse_watchlist("code,label\n97140,Manual\n97530,Activities\n97112,NMR\n")
    old = ncci([("97530", "97112", "1")])
    new = ncci(
        [
            ("97140", "97530", "1"),
            ("97530", "97112", "0"),
            ("97140", "99213", "1"),
            ("20610", "99213", "0"),
        ]
    )
    spec = make_spec(key=("column1", "column2"), descriptors=(), termination=None)
    cs = diff(old, new, spec, old_info=OLD, new_info=NEW)
    assert rules_fired(assess(cs, clinic, kinds()["ncci"]).items) == [
        ("critical", "ncci-pair-watched", "97140 97530"),
        ("critical", "ncci-modifier-tightened", "97530 97112"),
        ("warning", "ncci-pair-one-watched", "97140 99213"),
    ]


def test_mue_below_usual_units() -> None:
    """97530's MUE falls from 6 to 3 units a day; the clinic bills 4 (critical)."""
    schema = {"code": pl.String, "mue_value": pl.Int64}
    old = pl.DataFrame({"code": ["97530"], "mue_value": [6]}, schema=schema)
    new = pl.DataFrame({"code": ["97530"], "mue_value": [3]}, schema=schema)
    spec = make_spec(descriptors=(), termination=None)
    cs = diff(old, new, spec, old_info=OLD, new_info=NEW)
    (item,) = [i for i in assess(cs, CLINIC, kinds()["mue"]).items if i.severity == "critical"]
    assert (item.rule, item.code, dict(item.facts)) == (
        "mue-below-usage",
        "97530",
        {"limit": 3, "usual": 4},
    )
    assert "3 unit(s) a day, below the 4 you usually bill" in item_sentences(item)[0]


def test_payment_threshold(bundled) -> None:
    """RVU24C -> RVU25A: 97530 pays 5.49% less (warning at the 2% default); 97140 +0.78%
    (no item); with a 10% threshold, nothing."""
    from pipeline.analysis.cycle import analyse

    spec = bundled.config.codeset("pfs-rvu")
    old, new = bundled.store.get("pfs-rvu", "RVU24C"), bundled.store.get("pfs-rvu", "RVU25A")
    analysis = analyse(spec, old, new, CLINIC)
    warned = [i.code for i in analysis.impact.items if i.rule == "watched-payment"]
    assert warned == ["97530"]
    item = analysis.impact.items[0]
    assert (item.facts["payment_old"], item.facts["payment_new"]) == (
        Decimal("36.62"),
        Decimal("34.61"),
    )
    assert "-5.49%" in item_sentences(item)[0]
    lenient = analyse(spec, old, new, CLINIC, SeverityRules(payment_threshold=Decimal("0.1")))
    assert not [i for i in lenient.impact.items if i.rule == "watched-payment"]


def test_the_generic_kind_has_no_pair_or_limit_rules() -> None:
    """The NCCI and MUE rules belong to their kinds: a generic code set never raises them."""
    schema = {"code": pl.String, "mue_value": pl.Int64}
    old = pl.DataFrame({"code": ["97530"], "mue_value": [6]}, schema=schema)
    new = pl.DataFrame({"code": ["97530"], "mue_value": [3]}, schema=schema)
    spec = make_spec(descriptors=(), termination=None)
    cs = diff(old, new, spec, old_info=OLD, new_info=NEW)
    assert "mue-below-usage" not in {i.rule for i in assess(cs, CLINIC).items}


def test_items_only_for_watched_codes_even_in_a_large_cycle() -> None:
    many_old = frame([{"code": f"A{n:04d}", "description": "x"} for n in range(500)])
    many_new = frame([{"code": f"A{n:04d}", "description": "y"} for n in range(250)])
    cs = diff(many_old, many_new, make_spec(), old_info=OLD, new_info=NEW)
    assert assess(cs, CLINIC).items == ()
