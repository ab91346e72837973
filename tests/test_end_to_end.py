"""The bundled default, end to end: real CMS HCPCS annual files (2017-2020) and quarterly
files (2023Q1-2026Q3), the PT/OT rows of six fee-schedule releases, and ICD-10-CM FY2024 ->
FY2027.

Expectations were checked by hand against the release files:
- 2019 adds modifiers CO and CQ (add date 2019-01-01, action A);
- 2019 no longer lists DA, G9976 and G9977, which were active in 2018 (removed,
  not terminated);
- 2020 discontinues the functional-limitation G-codes (G8978-G8999,
  G9158-G9186), still listed with termination date 2019-12-31.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from itertools import pairwise
from pathlib import Path

import polars as pl
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.project.project import Project
from pipeline.project.run import run
from tests.conftest import REPO, Bundled


def functional_limitation_codes(bundled: Bundled) -> list[str]:
    """The G-codes of CMS's functional-limitation reporting that exist in 2019: G8978-G8999
    and G9158-G9186 (the second range has gaps: G9177-G9185 were never assigned)."""
    data = bundled.store.get("hcpcs", "2019").frame(["code"])
    in_range = pl.col("code").is_between(pl.lit("G8978"), pl.lit("G8999")) | pl.col(
        "code"
    ).is_between(pl.lit("G9158"), pl.lit("G9186"))
    return data.filter(in_range)["code"].to_list()


def cycle(bundled: Bundled, old: str, new: str, codeset: str = "hcpcs") -> dict:
    path = bundled.out / codeset / f"{old}_to_{new}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_run_stores_every_edition_and_reports_every_cycle(bundled: Bundled) -> None:
    versions = [m.version for m in bundled.store.manifests("hcpcs")]
    assert versions == ["2017", "2018", "2019", "2020"]
    assert [r.status for r in bundled.result.ingested] == ["stored"] * 29
    quarters = [m.version for m in bundled.store.manifests("hcpcs-quarterly")]
    assert quarters == [f"{y}Q{q}" for y in (2023, 2024, 2025) for q in (1, 2, 3, 4)] + [
        "2026Q1",
        "2026Q2",
        "2026Q3",
    ]
    assert [m.version for m in bundled.store.manifests("icd10cm")] == [
        "FY2024",
        "FY2025",
        "FY2026",
        "FY2027",
    ]
    stems = sorted(p.name for p in (bundled.out / "hcpcs").iterdir())
    assert stems == [
        f"{a}_to_{b}.{ext}"
        for a, b in (("2017", "2018"), ("2018", "2019"), ("2019", "2020"))
        for ext in ("html", "json", "md")
    ]
    assert (bundled.out / "index.html").is_file() and (bundled.out / "index.md").is_file()


def test_cycle_counts(bundled: Bundled) -> None:
    counts = {
        (cs.old.version, cs.new.version): (
            cs.counts["added"],
            cs.counts["deleted"],
            cs.counts["changed"],
        )
        for cs in bundled.result.cycles
    }
    assert counts == {
        ("2017", "2018"): (154, 29, 153),
        ("2018", "2019"): (228, 36, 174),
        ("2019", "2020"): (268, 89, 88),
        ("RVU23A", "RVU23D"): (0, 0, 0),
        ("RVU23D", "RVU24B"): (4, 0, 94),
        ("RVU24B", "RVU24C"): (0, 0, 0),
        ("RVU24C", "RVU25A"): (0, 0, 98),
        ("RVU25A", "RVU25D"): (0, 0, 0),
        ("2023Q1", "2023Q2"): (46, 3, 15),
        ("2023Q2", "2023Q3"): (63, 14, 3),
        ("2023Q3", "2023Q4"): (47, 2, 4),
        ("2023Q4", "2024Q1"): (344, 74, 64),
        ("2024Q1", "2024Q2"): (64, 19, 14),
        ("2024Q2", "2024Q3"): (67, 11, 32),
        ("2024Q3", "2024Q4"): (58, 6, 10),
        ("2024Q4", "2025Q1"): (168, 91, 85),
        ("2025Q1", "2025Q2"): (83, 37, 24),
        ("2025Q2", "2025Q3"): (45, 17, 4),
        ("2025Q3", "2025Q4"): (76, 7, 14),
        ("2025Q4", "2026Q1"): (160, 95, 295),
        ("2026Q1", "2026Q2"): (62, 6, 7),
        ("2026Q2", "2026Q3"): (41, 1, 11),
        # CDC's addenda: FY2025 252 new, 36 deleted, 13 revised; FY2026 487, 28, 38.
        ("FY2024", "FY2025"): (252, 36, 13),
        ("FY2025", "FY2026"): (487, 28, 38),
        ("FY2026", "FY2027"): (190, 30, 4),
    }


def test_2019_adds_the_therapy_assistant_modifiers(bundled: Bundled) -> None:
    added = {r["code"]: r for r in cycle(bundled, "2018", "2019")["added"]}
    assert {"CO", "CQ"} <= set(added)
    assert added["CQ"]["record_type"] == "modifier"
    assert "physical therapist assistant" in added["CQ"]["long_description"]


def test_2019_reports_codes_dropped_without_termination_as_removed(bundled: Bundled) -> None:
    deleted = cycle(bundled, "2018", "2019")["deleted"]
    removed = sorted(r["code"] for r in deleted if r["reason"] == "removed")
    assert removed == ["DA", "G9976", "G9977"]


def test_2020_discontinues_the_functional_limitation_codes(bundled: Bundled) -> None:
    deleted = {r["code"]: r for r in cycle(bundled, "2019", "2020")["deleted"]}
    codes = functional_limitation_codes(bundled)
    assert len(codes) == 42
    assert set(codes) <= set(deleted)
    assert {deleted[c]["termination_date"] for c in codes} == {"2019-12-31"}
    g8978 = deleted["G8978"]
    assert g8978["reason"] == "discontinued"
    assert g8978["termination_date"] == "2019-12-31"
    assert g8978["add_date"] == "2013-01-01"


def test_terminated_codes_are_not_deleted_twice(bundled: Bundled) -> None:
    """A code discontinued for 2018 appears as deleted in 2017->2018 only."""
    first = {r["code"] for r in cycle(bundled, "2017", "2018")["deleted"]}
    later = {r["code"] for r in cycle(bundled, "2018", "2019")["deleted"]}
    assert first and not (first & later)


def test_long_descriptions_are_joined_from_continuation_records(bundled: Bundled) -> None:
    data = bundled.store.get("hcpcs", "2019").frame()
    ad = data.filter(pl.col("code") == "AD").row(0, named=True)
    assert ad["long_description"] == (
        "Medical supervision by a physician: more than four concurrent anesthesia procedures"
    )


def test_manifest_records_provenance(bundled: Bundled) -> None:
    m = bundled.store.get("hcpcs", "2020").manifest
    source = REPO / "sources" / "hcpcs" / "2020-Alpha-Numeric-HCPCS-File.zip"
    assert m.source.name == source.name
    assert m.source.member == "HCPC2020_ANWEB_w_disclaimer.txt"
    assert m.source.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert m.effective_date == date(2020, 1, 1)
    assert m.rows == 7079


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_second_run_changes_nothing(bundled: Bundled) -> None:
    root = bundled.out.parent
    before = tree_digest(root)
    again = run(Project.of(bundled.config, bundled.store, bundled.out))
    assert [r.status for r in again.ingested] == ["unchanged"] * 29
    assert again.written == [] and again.new_cycles == []
    assert tree_digest(root) == before


def test_reports_match_the_committed_ones(bundled: Bundled) -> None:
    """`make run` reproduces the committed reports and snapshots byte for byte."""
    committed = REPO / "reports"
    assert tree_digest(bundled.out) == tree_digest(committed)
    assert tree_digest(bundled.store.root) == tree_digest(REPO / "snapshots")


def test_cli_diff_json_on_the_bundled_store(bundled: Bundled) -> None:
    runner = CliRunner()
    base = ["--config", str(REPO / "codesets.toml"), "--store", str(bundled.store.root)]
    result = runner.invoke(
        cli,
        [*base, "diff", "hcpcs", "--from", "2018", "--to", "2019", "--format", "json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert {"CO", "CQ"} <= {r["code"] for r in json.loads(result.output)["added"]}
    result = runner.invoke(cli, [*base, "diff", "hcpcs", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["from"]["version"], data["to"]["version"]) == ("2019", "2020")
    assert "G8978" in {r["code"] for r in data["deleted"]}


def test_fee_schedule_conversion_factor_and_97140(bundled: Bundled) -> None:
    """RVU24C -> RVU25A: the conversion factor 33.2875 -> 32.3465 on every row, shown once;
    97140's total RVUs 0.81 -> 0.84."""
    data = cycle(bundled, "RVU24C", "RVU25A", "pfs-rvu")
    assert data["uniform_changes"] == [
        {"field": "conversion_factor", "old": "33.2875", "new": "32.3465", "records": 98, "of": 98}
    ]
    (m97140,) = [r for r in data["changed"] if r["hcpcs"] == "97140"]
    assert m97140["fields"]["non_facility_total"] == {"old": "0.81", "new": "0.84"}
    assert m97140["fields"]["facility_total"] == {"old": "0.81", "new": "0.84"}
    md = (bundled.out / "pfs-rvu" / "RVU24C_to_RVU25A.md").read_text()
    assert "| Conversion factor (dollars per RVU) | 33.2875 | 32.3465 | 98 of 98 |" in md


def test_fee_schedule_2024_adds_caregiver_training_codes(bundled: Bundled) -> None:
    added = {r["hcpcs"] for r in cycle(bundled, "RVU23D", "RVU24B", "pfs-rvu")["added"]}
    assert {"97550", "97551", "97552"} <= added


def test_no_cpt_descriptor_reaches_a_snapshot(bundled: Bundled) -> None:
    for snapshot in bundled.store.snapshots("pfs-rvu"):
        assert "description" not in {c.lower() for c in snapshot.frame().columns}


def test_icd10cm_cycles_are_one_fiscal_year_each(bundled: Bundled) -> None:
    """The official code-descriptions files: no reconstruction, and no cycle across years."""
    cycles = [
        (cs.old.version, cs.new.version) for cs in bundled.result.cycles if cs.codeset == "icd10cm"
    ]
    assert cycles == [("FY2024", "FY2025"), ("FY2025", "FY2026"), ("FY2026", "FY2027")]
    data = cycle(bundled, "FY2025", "FY2026", "icd10cm")
    assert data["to"]["source"]["name"] == "icd10cm_codes_2026.zip"
    # G35 (multiple sclerosis) is subdivided for FY2026: no longer billable, children added.
    deleted = {r["code"] for r in data["deleted"]}
    added = {r["code"] for r in data["added"]}
    assert "G35" in deleted and {"G35A", "G35B0"} <= added


def test_2026_quarters_open_with_action_required(bundled: Bundled) -> None:
    """Each 2026 quarter's report starts with what the clinic must do (nothing, this year),
    then what changed; 2026Q3 adds the modifier AC."""
    for old, new in (("2025Q4", "2026Q1"), ("2026Q1", "2026Q2"), ("2026Q2", "2026Q3")):
        md = (bundled.out / "hcpcs-quarterly" / f"{old}_to_{new}.md").read_text()
        assert md.index("## Action required") < md.index("| Change | Records |")
        assert md.index("## Action required") == md.index("## ")
    added = {r["code"] for r in cycle(bundled, "2026Q2", "2026Q3", "hcpcs-quarterly")["added"]}
    assert "AC" in added


def test_every_quarterly_cycle_is_verified_against_cms_actions(bundled: Bundled) -> None:
    quarters = [m.version for m in bundled.store.manifests("hcpcs-quarterly")]
    for old, new in pairwise(quarters):
        verification = cycle(bundled, old, new, "hcpcs-quarterly")["verification"]
        assert verification["agreements"] > 7000, (old, new)
        assert verification["unexplained"] <= 5, (old, new)


def test_every_hcpcs_cycle_is_verified_with_no_unexplained_disagreement(bundled: Bundled) -> None:
    for old, new in (("2017", "2018"), ("2018", "2019"), ("2019", "2020")):
        verification = cycle(bundled, old, new)["verification"]
        assert verification["unexplained"] == 0, (old, new)
        assert verification["disagreements"] == len(verification["findings"]) > 0
        md = (bundled.out / "hcpcs" / f"{old}_to_{new}.md").read_text()
        assert "## Verification against the publisher's action codes" in md
        assert "each for a stated reason" in md
    assert "verification" not in cycle(bundled, "RVU24C", "RVU25A", "pfs-rvu")


def test_2020_raises_critical_items_for_the_discontinued_functional_limitation_codes(
    bundled: Bundled,
) -> None:
    impact = cycle(bundled, "2019", "2020")["impact"]
    critical = {i["code"] for i in impact["items"] if i["severity"] == "critical"}
    assert critical == {f"G{n}" for n in range(8978, 8996)}  # the 18 the clinic billed
    md = (bundled.out / "hcpcs" / "2019_to_2020.md").read_text()
    assert md.index("## Action required") < md.index("| Change | Records |")
    codes = ", ".join(f"G{n}" for n in range(8978, 8996))
    assert f"| **‼ critical** | 18 codes: {codes} | Each code is discontinued" in md


def test_2019_notes_the_new_assistant_modifiers_for_the_clinic(bundled: Bundled) -> None:
    items = cycle(bundled, "2018", "2019")["impact"]["items"]
    assert [(i["severity"], i["code"]) for i in items] == [("warning", "CO"), ("warning", "CQ")]


def test_fee_schedule_payment_table_for_97140(bundled: Bundled) -> None:
    payment = cycle(bundled, "RVU24C", "RVU25A", "pfs-rvu")["payment"]
    (row,) = [r for r in payment["rows"] if r["code"] == "97140"]
    assert row["non_facility_total_rvu"] == {"old": "0.81", "new": "0.84"}
    assert row["non_facility_payment"] == {"old": "26.96", "new": "27.17"}
    # 3,100 units, 75% of them second or later units (MPPR): $22.34 -> $22.32 a unit.
    assert (row["annual_units"], row["annual_impact"]) == ("3100", "-62.00")
    assert row["average_per_unit"] == {"old": "22.34", "new": "22.32"}
    html = (bundled.out / "pfs-rvu" / "RVU24C_to_RVU25A.html").read_text()
    assert "0.81 → 0.84" in html and "$26.96" in html and "$27.17" in html


def test_fail_on_critical_gate(tmp_path: Path) -> None:
    """From an empty store: exit 1 (the 2020 HCPCS cycle has critical items); 0 with an
    empty watchlist; then 0 again when a rerun finds nothing new."""
    import shutil

    for name in ("codesets.toml",):
        shutil.copy(REPO / name, tmp_path / name)
    for name in ("sources", "watchlists"):
        (tmp_path / name).symlink_to(REPO / name, target_is_directory=True)
    (tmp_path / "empty.csv").write_text("code,label\n")
    runner = CliRunner()
    base = ["--config", str(tmp_path / "codesets.toml")]

    def run(store: str, *extra: str) -> int:
        args = [*base, "--store", str(tmp_path / store), "--out", str(tmp_path / f"{store}-r")]
        return runner.invoke(cli, [*args, "run", "--fail-on", "critical", *extra]).exit_code

    assert run("a") == 1
    assert run("b", "--watchlist", str(tmp_path / "empty.csv")) == 0
    assert run("a") == 0  # nothing new


def test_audit_of_the_shipped_watchlist(bundled: Bundled) -> None:
    """97633 is not a code (the clinic meant 97533, sensory integration); Medicare does not
    pay 97014 (status I) and pays G0283 instead."""
    base = ["--config", str(REPO / "codesets.toml"), "--store", str(bundled.store.root)]
    result = CliRunner().invoke(cli, [*base, "audit", "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    findings = {(f["kind"], f["code"]): f for f in json.loads(result.output)["findings"]}
    typo = findings[("not-a-code", "97633")]
    assert typo["suggestions"][0]["code"] == "97533"
    assert "Sensory integration" in typo["suggestions"][0]["label"]
    unpaid = findings[("not-payable", "97014")]
    assert unpaid["status"] == "I"
    assert unpaid["suggestions"][0]["code"] == "G0283"
    assert (bundled.out / "audit.html").is_file()
    index = (bundled.out / "index.html").read_text()
    assert '<a href="audit.html">Read the audit</a>' in index
    assert "1 probably mistyped" in index


def test_cycle_reports_link_the_audit_page_and_never_copy_it(bundled: Bundled) -> None:
    """Today's audit lives on its own page: an old cycle report quotes nothing of it, so
    it changes only when its own inputs do."""
    md = (bundled.out / "hcpcs" / "2018_to_2019.md").read_text()
    assert "[watchlist audit](../audit.md)" in md
    assert "not paid by Medicare" not in md and "RVU25D" not in md
    html = (bundled.out / "pfs-rvu" / "RVU24C_to_RVU25A.html").read_text()
    assert '<a href="../audit.html">watchlist audit</a>' in html
    assert "listed more than once" not in html
