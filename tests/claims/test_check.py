"""Each rule on hand-written claim lines (`data/edge-cases.csv`) and on the generated
claims, against the bundled editions plus the NCCI and MUE test tables."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from pipeline.claims import RULES, ClaimsCheck, check_claims, in_force
from pipeline.config import load_config
from pipeline.store import Store
from tests.claims.fixtures import DATA

REPO = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(scope="module")
def edge(claims_store: Store) -> ClaimsCheck:
    editions = in_force(claims_store, load_config(REPO / "codesets.toml"))
    return check_claims(DATA / "edge-cases.csv", editions)


def on(check: ClaimsCheck, line: int, rule: str) -> list[dict[str, object]]:
    f = check.findings
    return f.filter((pl.col("_line") == line) & (pl.col("rule") == rule)).to_dicts()


def test_g8978_passes_before_the_discontinuation_and_fails_after(edge: ClaimsCheck) -> None:
    assert on(edge, 2, "hcpcs-code") == []  # 2019-12-30, HCPCS 2019: active
    [after] = on(edge, 4, "hcpcs-code")  # 2020-01-02, HCPCS 2020: terminated 2019-12-31
    assert after["outcome"] == "fail"
    assert after["edition"] == "hcpcs 2020"
    assert "terminated 2019-12-31" in str(after["message"])


def test_a_date_before_every_edition_is_no_data_for_every_kind(edge: ClaimsCheck) -> None:
    rules = {r["rule"]: r for r in edge.findings.filter(pl.col("_line") == 6).to_dicts()}
    assert {r["outcome"] for r in rules.values()} == {"no_data"}
    assert {"cpt-code", "modifier", "mue"} <= set(rules)
    assert "no HCPCS edition covers 2010-06-01" in str(rules["modifier"]["message"])


def test_cq_before_2019_is_not_a_valid_modifier(edge: ClaimsCheck) -> None:
    [finding] = on(edge, 7, "modifier")
    assert finding["outcome"] == "fail" and finding["edition"] == "hcpcs 2018"
    assert "CQ" in str(finding["message"])


def test_ncci_pair_bypassed_by_59_and_failed_without(edge: ClaimsCheck) -> None:
    [bypassed] = on(edge, 9, "ncci-ptp")
    assert bypassed["outcome"] == "bypassed"
    assert (bypassed["code"], bypassed["other_code"], bypassed["other_line"]) == (
        "97140",
        "97530",
        8,
    )
    assert "bypassed by modifier 59 on 97140" in str(bypassed["message"])
    [failed] = on(edge, 11, "ncci-ptp")
    assert failed["outcome"] == "fail" and failed["edition"] == "ncci-ptp 2025Q1"
    assert on(edge, 8, "ncci-ptp") == []  # the column-1 line is not denied


def test_indicator_0_fails_even_with_a_modifier(edge: ClaimsCheck) -> None:
    [finding] = on(edge, 13, "ncci-ptp")
    assert finding["outcome"] == "fail"
    assert "modifier indicator 0" in str(finding["message"])


def test_indicator_9_is_not_an_edit(edge: ClaimsCheck) -> None:
    assert on(edge, 22, "ncci-ptp") == []  # G0283 with 97014: indicator 9


def test_payable_status_with_its_meaning_and_replacement(edge: ClaimsCheck) -> None:
    [finding] = on(edge, 14, "payable")
    assert finding["edition"] == "pfs-rvu RVU25A"
    assert "status I" in str(finding["message"]) and "G0283" in str(finding["message"])


def test_therapy_modifiers(edge: ClaimsCheck) -> None:
    [cq] = on(edge, 15, "therapy-modifier")
    assert "always-therapy" in str(cq["message"])  # 97110 with CQ and no GP at all
    assert on(edge, 19, "therapy-modifier") == []  # 97110 GO CO: fine
    [bare] = on(edge, 23, "therapy-modifier")  # 97110 with no modifier at all
    assert "needs GP, GO or GN" in str(bare["message"])


def test_mue_per_date_sums_the_lines_and_per_line_counts_one(edge: ClaimsCheck) -> None:
    day = [on(edge, n, "mue") for n in (16, 17)]  # 97140 3 + 2 units, MUE 4 per date
    assert [f[0]["limit"] for f in day] == [4, 4]
    assert "5 units of 97140 on this claim and date" in str(day[0][0]["message"])
    [line] = on(edge, 18, "mue")  # 97035 3 units, MUE 2 per line
    assert "on this line" in str(line["message"])


def test_cpt_code_absent_from_the_fee_schedule_says_it_is_a_proxy(edge: ClaimsCheck) -> None:
    [finding] = on(edge, 20, "cpt-code")
    assert "proxy" in str(finding["message"])


def test_diagnosis_split_after_fy2021_fails_in_fy2025(edge: ClaimsCheck) -> None:
    [finding] = on(edge, 12, "diagnosis")
    assert finding["outcome"] == "fail" and finding["edition"] == "icd10cm FY2025"


def test_dollars_at_risk_are_the_national_payment_of_failing_lines(edge: ClaimsCheck) -> None:
    [finding] = on(edge, 11, "ncci-ptp")
    # 97140 in RVU25A: 0.84 total RVU x 32.3465 = $27.17 a unit, two units.
    assert finding["payment"] == Decimal("54.34")
    assert edge.summary[list(RULES).index("ncci-ptp")].at_risk >= Decimal("54.34")


def test_generated_claims_counts_by_rule(claims_store: Store) -> None:
    editions = in_force(claims_store, load_config(REPO / "codesets.toml"))
    check = check_claims(DATA / "claims-2025Q1.csv", editions)
    counts = check.counts()
    assert counts["ncci-ptp"]["bypassed"] > 0 and counts["ncci-ptp"]["fail"] > 0
    assert counts["payable"]["fail"] > 0  # 97014, as the clinic bills it
    assert counts["cpt-code"]["fail"] > 0  # 97633, the clinic's typo
    assert counts["hcpcs-code"] == {"fail": 0, "bypassed": 0, "no_data": 0}
    # Every finding names an edition, except no_data, which names why there is none.
    named = check.findings.filter(pl.col("outcome") != "no_data")
    assert named["edition"].null_count() == 0
