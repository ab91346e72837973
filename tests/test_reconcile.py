"""Our HCPCS change sets against CMS's ACTION CD, on the bundled 2017-2020 annual files.

Every disagreement must carry a reason; the tallies pin what the rules find, so a
change in the diff or the reader that shifts a code from one reason to another shows.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from pipeline.codesets.hcpcs.reconcile import AGREEING, REASONS, Reconciliation, reconcile
from pipeline.codesets.reading import read_source
from pipeline.config.load import load_config
from pipeline.diff.changeset import ChangeSet
from pipeline.diff.engine import diff
from pipeline.errors import PipelineError
from tests.conftest import REPO, edition

ACTIONS = ["code", "action_code", "action_effective_date", "add_date"]
CYCLES = [("2017", "2018"), ("2018", "2019"), ("2019", "2020")]


@pytest.fixture(scope="module")
def editions() -> dict[str, tuple[pl.DataFrame, ChangeSet | None]]:
    spec = load_config(REPO / "codesets.toml").codesets["hcpcs"]
    frames = {
        ed.version: (ed, read_source(Path(ed.source), spec.reader, spec.key).frame)
        for ed in spec.editions
    }
    out: dict[str, tuple[pl.DataFrame, ChangeSet | None]] = {}
    for old, new in CYCLES:
        (old_ed, old_frame), (new_ed, new_frame) = frames[old], frames[new]
        cs = diff(
            old_frame,
            new_frame,
            spec,
            old_info=edition(old, old_ed.effective, old_frame.height),
            new_info=edition(new, new_ed.effective, new_frame.height),
        )
        out[new] = (new_frame, cs)
    out["2017"] = (frames["2017"][1], None)
    return out


def run(editions: dict, new: str, with_old: bool = True) -> Reconciliation:
    frame, cs = editions[new]
    old = editions[str(int(new) - 1)][0]
    return reconcile(cs, frame.select(ACTIONS), old.select(ACTIONS) if with_old else None)


EXPECTED = {
    "2018": {
        "no-change": 6209,
        "added": 143,
        "added-earlier-quarter": 9,
        "discontinued": 26,
        "interim": 14,
        "purged": 107,
        "coded-C": 50,
        "coded-S": 19,
        "coded-F": 2,
        "coded-P": 64,
        "missing-from-previous": 2,
        "retroactive-discontinuation": 3,
        "earlier-quarter-change": 4,
        "typo-fix": 5,
        "xref-to-missing-code": 3,
        "admin-uncoded": 6,
    },
    "2019": {
        "no-change": 6347,
        "added": 186,
        "added-earlier-quarter": 38,
        "discontinued": 33,
        "interim": 16,
        "coded-C": 93,
        "coded-S": 8,
        "coded-B": 1,
        "coded-F": 1,
        "coded-P": 47,
        "missing-from-previous": 3,
        "added-then-changed": 1,
        "addition-restated": 2,
        "code-reused": 2,
        "removed-silently": 3,
        "reverted": 2,
        "earlier-quarter-change": 13,
        "typo-fix": 3,
        "payment-date-precedes": 4,
    },
    "2020": {
        "no-change": 6623,
        "added": 191,
        "added-earlier-quarter": 59,
        "discontinued": 88,
        "interim": 11,
        "coded-C": 70,
        "coded-S": 2,
        "coded-P": 10,
        "missing-from-previous": 18,
        "retroactive-discontinuation": 1,
        "xref-to-missing-code": 1,
        "payment-date-precedes": 1,
        "admin-uncoded": 4,
    },
}


@pytest.mark.parametrize("new", sorted(EXPECTED))
def test_every_disagreement_has_a_reason(editions: dict, new: str) -> None:
    result = run(editions, new)
    assert result.unexplained == ()
    assert dict(result.by_reason) == EXPECTED[new]
    disagreeing = sum(n for r, n in EXPECTED[new].items() if r not in AGREEING)
    assert len(result.disagreements) == disagreeing
    assert result.agreements + disagreeing == sum(result.by_kind_action.values())
    assert all(f.reason == REASONS[f.rule] for f in result.disagreements)
    json.dumps(result.to_dict())


def test_kind_by_action_tallies(editions: dict) -> None:
    assert dict(run(editions, "2019").by_kind_action) == {
        ("added", "A"): 224,
        ("added", "C"): 1,
        ("added", "N"): 3,
        ("deleted", None): 3,
        ("deleted", "D"): 33,
        ("changed", "A"): 2,
        ("changed", "B"): 1,
        ("changed", "C"): 93,
        ("changed", "F"): 1,
        ("changed", "N"): 22,
        ("changed", "P"): 47,
        ("changed", "S"): 8,
        ("interim", "D"): 16,
        ("unchanged", "A"): 2,
        ("unchanged", "N"): 6347,
    }


def finding(result: Reconciliation, code: str) -> tuple:
    found = [f for f in result.disagreements if f.code == code]
    assert len(found) == 1, code
    return found[0].kind, found[0].action, found[0].rule, found[0].detail


def test_therapy_codes_agree(editions: dict) -> None:
    """CO and CQ: new modifiers with A in 2019; G8978: D in 2020, discontinued by us."""
    frame, cs = editions["2019"]
    assert {"CO", "CQ"} <= set(cs.added["code"])
    assert set(frame.filter(pl.col("code").is_in(["CO", "CQ"]))["action_code"]) == {"A"}
    assert not {"CO", "CQ"} & {f.code for f in run(editions, "2019").disagreements}
    frame, cs = editions["2020"]
    g8978 = cs.deleted.filter(pl.col("code") == "G8978").row(0, named=True)
    assert (g8978["reason"], g8978["action_code"]) == ("discontinued", "D")
    assert "G8978" not in {f.code for f in run(editions, "2020").disagreements}


def test_pinned_disagreements(editions: dict) -> None:
    r2018, r2019, r2020 = (run(editions, y) for y in ("2018", "2019", "2020"))
    assert finding(r2018, "J3010")[2:] == (
        "typo-fix",
        "short_description: 'injeciton' -> 'injection'",
    )
    assert finding(r2018, "G0477")[:3] == ("deleted", "N", "retroactive-discontinuation")
    assert finding(r2018, "E0627")[2] == "xref-to-missing-code"
    # The 2018 file gave G9637 the new text meant for G9367; 2019 puts both right.
    assert finding(r2019, "G9637")[2:] == (
        "reverted",
        "action effective date 2018-01-01 -> 2016-01-01; "
        "fields: long_description, short_description",
    )
    assert finding(r2019, "G9367")[2] == "earlier-quarter-change"
    assert finding(r2019, "G9890")[:3] == ("changed", "A", "code-reused")
    assert finding(r2019, "QQ")[:3] == ("unchanged", "A", "addition-restated")
    assert finding(r2019, "Q2041")[:3] == ("added", "C", "added-then-changed")
    assert finding(r2019, "C9488")[2] == "payment-date-precedes"
    # DA: dropped from the 2019 file without a discontinuation, back in 2020.
    assert finding(r2019, "DA")[:3] == ("deleted", None, "removed-silently")
    assert finding(r2020, "DA")[:3] == ("added", "N", "missing-from-previous")
    assert finding(r2020, "C9034")[2] == "retroactive-discontinuation"
    assert finding(r2020, "B4105")[2] == "admin-uncoded"


def test_without_the_previous_action_dates_those_rules_cannot_apply(editions: dict) -> None:
    """The rules that compare a code's action effective date across editions need
    `old_actions`; without it their codes are unexplained, not dropped."""
    result = run(editions, "2019", with_old=False)
    assert len(result.unexplained) == 2 + 13  # reverted + earlier-quarter-change
    assert len(result.disagreements) == len(run(editions, "2019").disagreements)


def test_a_combination_no_rule_explains_is_reported(editions: dict) -> None:
    frame, cs = editions["2020"]
    old = editions["2019"][0]
    actions = frame.select(ACTIONS).with_columns(
        pl.when(pl.col("code") == "B4105")
        .then(pl.lit("T"))
        .otherwise("action_code")
        .alias("action_code")
    )
    result = reconcile(cs, actions, old.select(ACTIONS))
    assert [(f.code, f.kind, f.action, f.rule) for f in result.unexplained] == [
        ("B4105", "changed", "T", "unexplained")
    ]
    assert "pricing_indicator: 00 -> 39" in result.unexplained[0].detail
    assert result.to_dict()["unexplained"] == 1


def test_actions_of_another_edition_are_refused(editions: dict) -> None:
    cs = editions["2020"][1]
    with pytest.raises(PipelineError, match="not those of edition 2020"):
        reconcile(cs, editions["2019"][0].select(ACTIONS))


QUARTERS = ("2023q1", "2023q2", "2025q4", "2026q1")


@pytest.fixture(scope="module")
def quarterly() -> dict[str, Reconciliation]:
    """Two real quarterly cycles, read from the column subsets (`sources/hcpcs-quarterly/`)."""
    from datetime import date

    from pipeline.codesets import builtin

    spec = builtin()["hcpcs"]
    frames = {
        q: read_source(
            REPO / "sources" / "hcpcs-quarterly" / f"hcpcs_{q}.zip", spec.reader, ["code"]
        )
        for q in QUARTERS
    }
    out = {}
    for old, new in (("2023q1", "2023q2"), ("2025q4", "2026q1")):
        old_frame, new_frame = frames[old].frame, frames[new].frame
        start = {q: date(int(q[:4]), 3 * int(q[-1]) - 2, 1) for q in (old, new)}
        cs = diff(
            old_frame,
            new_frame,
            spec,
            old_info=edition(old.upper(), start[old], old_frame.height),
            new_info=edition(new.upper(), start[new], new_frame.height),
        )
        out[new] = reconcile(
            cs, new_frame.select(ACTIONS), old_frame.select(ACTIONS), columns=new_frame.columns
        )
    return out


def test_quarterly_cycles_are_verified_against_cms_actions(
    quarterly: dict[str, Reconciliation],
) -> None:
    """The quarterly tables leave out the payment, coverage and service fields: a change CMS
    codes there (P, F, T) is explained as not in the file, never left unexplained; the end
    of the public health emergency (G2023, G2024 terminated 2023-05-11) was coded D in
    April 2023, with the codes still active on April 1."""
    april = quarterly["2023q2"]
    assert april.by_reason["discontinuation-scheduled"] == 5
    assert april.by_kind_action[("changed", "D")] == 5
    assert april.unexplained == ()
    assert {f.rule for f in april.disagreements} == {"not-in-file", "typo-fix"}
    january = quarterly["2026q1"]
    assert january.unexplained == ()
    assert january.by_reason["not-in-file"] == 65
    assert {f.action for f in january.disagreements} <= {"F", "P", "T"}


def test_annual_files_carry_every_field_so_not_in_file_never_applies(editions: dict) -> None:
    frame, _ = editions["2020"]
    assert "not-in-file" not in run(editions, "2020").by_reason
    assert {"pricing_indicator", "coverage_code", "betos"} <= set(frame.columns)
